"""The JSON API the mini-program calls, under /api/v1."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from miniprogram_api.auth_views import bp as auth_bp
    from miniprogram_api.catalog_views import bp as catalog_bp
    from miniprogram_api.distributor_views import bp as distributor_bp
    from miniprogram_api.docs_views import bp as docs_bp
    from miniprogram_api.order_views import bp as order_bp
    from miniprogram_api.share_views import bp as share_bp
    from miniprogram_api.withdrawal_views import bp as withdrawal_bp

    for blueprint in (
        auth_bp,
        catalog_bp,
        order_bp,
        distributor_bp,
        withdrawal_bp,
        share_bp,
        docs_bp,
    ):
        app.register_blueprint(blueprint, url_prefix="/api/v1")
