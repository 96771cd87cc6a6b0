"""What staff read for the codes the house stores: statuses, roles, channels.

Codes stay English in the database, the API and URLs; the panel shows `{{ code|label }}`,
which is the code's name in the reader's language (the code itself if it has none yet).
Payment channels and payout methods are named by their registries (`shop.channels`,
`money.rails`), not here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from wxdist.money import rails
from wxdist.shop import channels

LABELS: dict[str, LazyString] = {
    # orders
    "pending_payment": _l("awaiting payment"),
    "paid": _l("paid"),
    "shipped": _l("shipped"),
    "completed": _l("completed"),
    "cancelled": _l("cancelled"),
    "closed": _l("closed"),
    "refunding": _l("refunding"),
    "refunded": _l("refunded"),
    # payments and refunds
    "open": _l("open"),
    "processing": _l("processing"),
    "succeeded": _l("succeeded"),
    "failed": _l("failed"),
    # distributors
    "pending": _l("pending"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "disabled": _l("disabled"),
    "active": _l("active"),
    # commission
    "frozen": _l("frozen"),
    "settled": _l("settled"),
    # withdrawals
    "pending_review": _l("awaiting review"),
    "paying": _l("paying"),
    "waiting_confirm": _l("waiting for the distributor to confirm"),
    # staff roles
    "owner": _l("owner"),
    "operator": _l("operator"),
    "finance": _l("finance"),
}


def registered_label(code: str) -> LazyString | None:
    """The name of a payment channel or payout method from its registry (the channel's
    first: a WeChat payment and a WeChat withdrawal share the code), or None."""
    channel = channels.find(code)
    if channel is not None:
        return channel.label
    try:
        return rails.label(code)
    except rails.UnknownRail:
        return None


def labelled(code: str) -> bool:
    """Whether the panel shows `code` through a label (a stored code, not free text)."""
    return code in LABELS or registered_label(code) is not None


def label(code: str | None) -> str:
    """The reader's name for `code` ('' for None; the code itself when it has no label)."""
    if code is None:
        return ""
    found = LABELS.get(str(code))
    if found is None:
        found = registered_label(str(code))
    return str(found) if found is not None else str(code)
