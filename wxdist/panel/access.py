"""Who may open what: each view belongs to an area, each area to roles.

`@area("withdrawals")` on a view signs the staff member in (else redirect to login) and
answers 403 unless their role has that area. The walk test reads `view.panel_area`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from wxdist.models.staff import StaffRole

OWNER, OPERATOR, FINANCE = StaffRole.OWNER, StaffRole.OPERATOR, StaffRole.FINANCE

AREAS: dict[str, tuple[str, ...]] = {
    "dashboard": (OWNER, OPERATOR, FINANCE),
    "withdrawals": (OWNER, FINANCE),
    "commissions": (OWNER, FINANCE),
    "distributors": (OWNER, OPERATOR),
    "customers": (OWNER, OPERATOR),
    "orders": (OWNER, OPERATOR),
    "products": (OWNER, OPERATOR),
    "marketing": (OWNER, OPERATOR),
    "messages": (OWNER, OPERATOR),
    "settings": (OWNER,),
    "staff": (OWNER,),
    "audit": (OWNER,),
    "reports": (OWNER, OPERATOR, FINANCE),
}

# The navigation, in order: (area, endpoint, label).
NAV = (
    ("dashboard", "panel.dashboard", _l("Dashboard")),
    ("withdrawals", "panel.withdrawals", _l("Withdrawals")),
    ("distributors", "panel.distributors", _l("Distributors")),
    ("customers", "panel.customers", _l("Customers")),
    ("orders", "panel.orders", _l("Orders")),
    ("orders", "panel.aftersales", _l("After-sales")),
    ("products", "panel.products", _l("Products")),
    ("products", "panel.shipping_templates", _l("Shipping templates")),
    ("marketing", "panel.marketing", _l("Marketing")),
    ("marketing", "panel.flash_sales", _l("Flash sales")),
    ("marketing", "panel.group_buys", _l("Group buys")),
    ("marketing", "panel.materials_page", _l("Materials")),
    ("marketing", "panel.incentives", _l("Incentives")),
    ("commissions", "panel.commissions", _l("Commission")),
    ("reports", "panel.reports_page", _l("Reports")),
    ("messages", "panel.messages", _l("Messages")),
    ("settings", "panel.settings", _l("Settings")),
    ("settings", "panel.stock_settings_page", _l("Stock alerts")),
    ("settings", "panel.webhooks", _l("Webhooks")),
    ("settings", "panel.api_keys", _l("Open API")),
    ("staff", "panel.staff", _l("Staff")),
    ("audit", "panel.audit", _l("Audit log")),
)

View = TypeVar("View", bound=Callable[..., Any])


def can(area_name: str) -> bool:
    """True if the signed-in staff member's role has `area_name`."""
    return current_user.is_authenticated and current_user.role in AREAS[area_name]


def area(area_name: str) -> Callable[[View], View]:
    """Require a signed-in staff member whose role has `area_name` (else 403)."""
    if area_name not in AREAS:
        raise ValueError(f"unknown panel area {area_name!r}")

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not can(area_name):
                abort(403)
            return view(*args, **kwargs)

        checked = login_required(guarded)
        checked.panel_area = area_name  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorate
