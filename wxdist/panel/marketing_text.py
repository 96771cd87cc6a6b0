"""How the marketing pages write an offer in words: ¥20 off, 8.5 折 (at most ¥x off), over
¥100, 满 3 件减 ¥10. Templates reach these as `offers.value(template)` and so on."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from wxdist.panel.decimal_fields import zhe_text
from wxdist.panel.filters import fen


def rate(pay_rate_bp: int) -> str:
    """8500 → '8.5 折' ('8.5/10 of the price' in English)."""
    return _("%(zhe)s/10 of the price", zhe=zhe_text(pay_rate_bp))


def value(off_fen: int | None, pay_rate_bp: int | None, cap_fen: int | None = None) -> str:
    """What a coupon or tier takes off: '¥20.00 off', '8.5 折', '8.5 折, at most ¥30.00 off'."""
    if off_fen is not None:
        return _("%(amount)s off", amount=fen(off_fen))
    if pay_rate_bp is None:
        return ""
    if cap_fen:
        return _("%(rate)s, at most %(cap)s off", rate=rate(pay_rate_bp), cap=fen(cap_fen))
    return rate(pay_rate_bp)


def template_value(template: Any) -> str:
    return value(template.off_fen, template.pay_rate_bp, template.cap_fen)


def threshold(threshold_fen: int) -> str:
    return _("over %(amount)s", amount=fen(threshold_fen)) if threshold_fen else _("no minimum")


def tier(tier: dict[str, int], by_count: bool) -> str:
    """One tier of a full reduction: '满 ¥100.00 减 ¥10.00', '满 3 件打 9 折', '… 包邮'."""
    off = value(tier.get("off_fen"), tier.get("pay_rate_bp"))
    if tier.get("free_shipping"):
        off = _("%(off)s, free shipping", off=off) if off else _("free shipping")
    if by_count:
        return _("%(count)s items or more: %(off)s", count=tier["threshold"], off=off)
    return _("%(amount)s or more: %(off)s", amount=fen(tier["threshold"]), off=off)


def scope(scope: dict[str, list[int]] | None) -> list[str]:
    """The scope's parts in words (empty: every product)."""
    words = {
        "product_ids": _("products %(ids)s"),
        "category_ids": _("categories %(ids)s"),
        "excluded_product_ids": _("except products %(ids)s"),
        "excluded_category_ids": _("except categories %(ids)s"),
    }
    parts = []
    for name, pattern in words.items():
        ids = (scope or {}).get(name) or []
        if ids:
            parts.append(pattern % {"ids": ", ".join(str(i) for i in ids)})
    return parts
