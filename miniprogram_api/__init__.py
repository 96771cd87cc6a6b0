"""The JSON API the mini-program calls, under /api/v1."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import gettext as _

from wxdist.core.errors import NotFound
from wxdist.core.ids import is_id


def register_api(app: Flask) -> None:
    from miniprogram_api.account_views import bp as account_bp
    from miniprogram_api.address_views import bp as address_bp
    from miniprogram_api.aftersale_views import bp as aftersale_bp
    from miniprogram_api.auth_views import bp as auth_bp
    from miniprogram_api.cart_views import bp as cart_bp
    from miniprogram_api.catalog_views import bp as catalog_bp
    from miniprogram_api.coupon_views import bp as coupon_bp
    from miniprogram_api.distributor_views import bp as distributor_bp
    from miniprogram_api.docs_views import bp as docs_bp
    from miniprogram_api.flash_views import bp as flash_bp
    from miniprogram_api.group_views import bp as group_bp
    from miniprogram_api.incentive_views import bp as incentive_bp
    from miniprogram_api.notification_views import bp as notification_bp
    from miniprogram_api.order_views import bp as order_bp
    from miniprogram_api.report_views import bp as report_bp
    from miniprogram_api.share_views import bp as share_bp
    from miniprogram_api.withdrawal_views import bp as withdrawal_bp

    blueprints = (
        auth_bp,
        account_bp,
        catalog_bp,
        cart_bp,
        order_bp,
        address_bp,
        aftersale_bp,
        coupon_bp,
        flash_bp,
        group_bp,
        distributor_bp,
        report_bp,
        incentive_bp,
        withdrawal_bp,
        share_bp,
        notification_bp,
        docs_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint, url_prefix="/api/v1")
    names = {blueprint.name for blueprint in blueprints}

    @app.url_value_preprocessor
    def bound_path_ids(endpoint: str | None, values: dict[str, Any] | None) -> None:
        """A path id beyond the signed 64-bit range names nothing: 404 naming it, before
        any view (or the database) sees it."""
        if not endpoint or endpoint.partition(".")[0] not in names or not values:
            return
        for name, value in values.items():
            if isinstance(value, int) and not is_id(value):
                raise NotFound(_("no such resource"), fields={name: _("not found")})
