"""Everything a poster shows (`PosterInputs`) and its content key: a digest of template,
code, nickname, avatar URL, product facts and renderer version, under which the drawn
poster is stored. A poster is redrawn exactly when that key changes.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from wxdist.catalog.face import ProductFacts, product_facts
from wxdist.core.media import hashed_key
from wxdist.marketing.templates import shareable_template
from wxdist.models import User
from wxdist.sharing import share_codes, wxacode
from wxdist.sharing.posters import text
from wxdist.sharing.posters.template_store import get_template
from wxdist.sharing.posters.templates import PosterTemplate, kind_for, template_digest

RENDERER_VERSION = 1  # bump when drawing changes: every poster is redrawn on next request


@dataclass(frozen=True)
class CouponFacts:
    """What a poster says of the coupon its code hands out."""

    off_fen: int | None
    pay_rate_bp: int | None
    threshold_fen: int


@dataclass(frozen=True)
class PosterInputs:
    template: PosterTemplate
    code: wxacode.CodeSpec
    nickname: str
    avatar_url: str
    product: ProductFacts | None = None
    coupon: CouponFacts | None = None

    @property
    def kind(self) -> str:
        return self.template.kind

    def content_key(self) -> str:
        code, product = self.code, self.product
        material = json.dumps(
            [
                RENDERER_VERSION,
                template_digest(self.template),
                [code.scene, code.page, code.env_version, code.width],
                self.nickname,
                self.avatar_url,
                [product.id, product.title, product.price_fen, product.image_url]
                if product
                else None,
                dataclasses.astuple(self.coupon) if self.coupon else None,
            ],
            ensure_ascii=False,
        )
        return hashed_key(f"posters/{self.kind}", material, "jpg")


def inputs_for(
    user: User, product_id: int | None, channel: str = "", coupon_template_id: int | None = None
) -> PosterInputs:
    """Everything a poster of this distributor shows (with the coupon its code carries).
    Raises Forbidden / NotFound / ApiError as share_codes.get_or_create does."""
    code = share_codes.get_or_create(user.id, product_id, channel, coupon_template_id)
    facts = product_facts(product_id) if product_id is not None else None
    template = shareable_template(coupon_template_id) if coupon_template_id else None
    coupon = (
        CouponFacts(template.off_fen, template.pay_rate_bp, template.threshold_fen)
        if template
        else None
    )
    return PosterInputs(
        template=get_template(kind_for(product_id)),
        code=wxacode.spec_for(code.scene),
        nickname=user.nickname or "",
        avatar_url=user.avatar_url or "",
        product=facts,
        coupon=coupon,
    )


def display_name(user: User) -> str:
    """The user's nickname as a poster can draw it, or 微信用户."""
    name = text.clean(user.nickname or "").strip()
    return name or "微信用户"
