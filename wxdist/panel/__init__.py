"""The merchant's web panel at /panel: server-rendered pages for staff.

`register_panel(app)` binds Flask-Login and CSRF and registers the blueprint; each page
module adds its views to `panel_bp` with an access area (see `access.py`). Views read
through `queries/` and write through the domain services; they never touch the session.

May import: any domain package. Not `miniprogram_api`, `wxdist.web`, `wxdist.cli`, `jobs`.
"""

from __future__ import annotations

from flask import Flask

from wxdist.panel.blueprint import csrf, login_manager, panel_bp

PAGE_MODULES = (
    "wxdist.panel.auth_views",
    "wxdist.panel.language_views",
    "wxdist.panel.dashboard_views",
    "wxdist.panel.audit_views",
    "wxdist.panel.staff_views",
    "wxdist.panel.product_views",
    "wxdist.panel.picture_views",
    "wxdist.panel.shipping_template_views",
    "wxdist.panel.settings_views",
    "wxdist.panel.stock_views",
    "wxdist.panel.webhook_views",
    "wxdist.panel.api_key_views",
    "wxdist.panel.distributor_views",
    "wxdist.panel.customer_views",
    "wxdist.panel.order_views",
    "wxdist.panel.shipment_views",
    "wxdist.panel.aftersale_views",
    "wxdist.panel.withdrawal_views",
    "wxdist.panel.commission_views",
    "wxdist.panel.marketing_views",
    "wxdist.panel.promotion_views",
    "wxdist.panel.flash_views",
    "wxdist.panel.group_views",
    "wxdist.panel.incentive_views",
    "wxdist.panel.material_views",
    "wxdist.panel.message_views",
    "wxdist.panel.report_views",
)


def register_panel(app: Flask) -> None:
    import importlib

    for module in PAGE_MODULES:
        importlib.import_module(module)
    login_manager.init_app(app)
    # CSRF is checked by the panel blueprint only: the JSON API authenticates with bearer
    # tokens and gateway notifies with signatures, neither with cookies.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.register_blueprint(panel_bp)
    from wxdist.panel import filters

    filters.register(app)
