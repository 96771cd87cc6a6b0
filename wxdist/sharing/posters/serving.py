"""Serving a poster by its content key: the stored JPEG when one with these inputs is kept,
else a fresh drawing, kept unless a picture could not be fetched (then the next request
tries again).
"""

from __future__ import annotations

from dataclasses import dataclass

from wxdist.core.media import load_picture, storage
from wxdist.models import User
from wxdist.sharing import wxacode
from wxdist.sharing.posters.drawing import render
from wxdist.sharing.posters.inputs import PosterInputs, inputs_for


@dataclass(frozen=True)
class Poster:
    key: str
    jpeg: bytes | None  # the bytes, or
    scene: str
    cacheable: bool  # False: drawn without a picture that could not be fetched
    path: str | None = None  # the stored file (local storage), sent with sendfile

    def read(self) -> bytes:
        if self.jpeg is not None:
            return self.jpeg
        assert self.path is not None
        with open(self.path, "rb") as fh:
            return fh.read()


def get_poster(
    user: User,
    product_id: int | None = None,
    channel: str = "",
    coupon_template_id: int | None = None,
) -> Poster:
    """The stored poster, or a fresh drawing (kept unless a picture was missing for now).
    Raises Forbidden / NotFound / ApiError as share_codes.get_or_create does."""
    inputs = inputs_for(user, product_id, channel, coupon_template_id)
    key = inputs.content_key()
    store = storage()
    jpeg = store.get(key)
    if jpeg is not None:
        return Poster(key, jpeg, inputs.code.scene, True)
    return draw_and_store(inputs)


def draw_and_store(inputs: PosterInputs) -> Poster:
    """Fetch the code and pictures, draw, and keep the poster unless a picture is to be
    retried. Raises GatewayFailed when WeChat gives no code (as wxacode.get_code)."""
    code_png = wxacode.get_code(inputs.code)
    avatar = load_picture(inputs.avatar_url)
    picture = load_picture(inputs.product.image_url) if inputs.product else None
    background = (
        storage().get(inputs.template.background_image)
        if inputs.template.background_image
        else None
    )
    jpeg = render(inputs, code_png, avatar.data, picture.data if picture else None, background)
    cacheable = not avatar.retry and not (picture and picture.retry)
    key = inputs.content_key()
    if cacheable:
        storage().put(key, jpeg)
    return Poster(key, jpeg, inputs.code.scene, cacheable)
