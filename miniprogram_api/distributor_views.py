"""The distributor centre and referral binding."""

from __future__ import annotations

from flask import Blueprint, url_for

from miniprogram_api import schemas
from miniprogram_api.openapi import api_doc
from miniprogram_api.request import body, current_user, login_required, query
from miniprogram_api.schemas import promote as promote_schemas
from wxdist.distribution import centre as distributor_centre
from wxdist.distribution import distributors, promote
from wxdist.recommendations import service as recommend
from wxdist.sharing import arrival, materials

bp = Blueprint("api_distributor", __name__)


@bp.post("/referral/bind")
@api_doc(body=schemas.BindIn, response=schemas.BindOut, tag="distribution")
@login_required
def bind():  # type: ignore[no-untyped-def]
    """Bind me to the distributor a scene names (the binding settings decide)."""
    data = body(schemas.BindIn)
    result = arrival.bind_scene(current_user().id, data.scene, source="bind")
    return schemas.BindOut.model_validate(result).model_dump()


@bp.post("/distributor/application")
@api_doc(
    body=schemas.ApplicationIn,
    response=schemas.DistributorOut,
    status=201,
    errors=(400, 409),
    tag="distribution",
)
@login_required
def apply():  # type: ignore[no-untyped-def]
    """Apply to become a distributor: approved at once, or pending review, per the settings."""
    data = body(schemas.ApplicationIn)
    user = current_user()
    distributors.apply(user.id, data.real_name, data.phone, data.reason)
    overview = distributor_centre.overview(user.id)
    return schemas.DistributorOut.model_validate(overview).model_dump(mode="json"), 201


@bp.get("/distributor")
@api_doc(response=schemas.DistributorOut, errors=(), tag="distribution")
@login_required
def overview():  # type: ignore[no-untyped-def]
    """My standing, level, balances and today's and this month's figures."""
    data = distributor_centre.overview(current_user().id)
    return schemas.DistributorOut.model_validate(data).model_dump(mode="json")


@bp.get("/distributor/team")
@api_doc(query=schemas.TeamQuery, response=schemas.TeamPage, errors=(400, 403), tag="distribution")
@login_required
def team():  # type: ignore[no-untyped-def]
    """My team at depth 1 or 2, newest first, with each member's orders and contribution."""
    params = query(schemas.TeamQuery)
    user_id = distributor_centre.require_distributor(current_user().id).user_id
    page = distributor_centre.team_page(user_id, params.depth, params.page, params.per_page)
    return schemas.TeamPage(
        page=params.page,
        per_page=params.per_page,
        total=page.total,
        depth=params.depth,
        items=page.items,
    ).model_dump(mode="json")


@bp.get("/distributor/commissions")
@api_doc(
    query=schemas.CommissionQuery,
    response=schemas.CommissionPage,
    errors=(400, 403),
    tag="distribution",
)
@login_required
def commissions():  # type: ignore[no-untyped-def]
    """My commission records, newest first, optionally by status."""
    params = query(schemas.CommissionQuery)
    user_id = distributor_centre.require_distributor(current_user().id).user_id
    page = distributor_centre.commission_page(user_id, params.status, params.page, params.per_page)
    return schemas.CommissionPage(
        page=params.page, per_page=params.per_page, total=page.total, items=page.items
    ).model_dump(mode="json")


@bp.get("/distributor/orders")
@api_doc(
    query=schemas.PageQuery,
    response=schemas.AttributedOrderPage,
    errors=(400, 403),
    tag="distribution",
)
@login_required
def attributed_orders():  # type: ignore[no-untyped-def]
    """Orders attributed to me (buyers' names masked), with my commission on each."""
    params = query(schemas.PageQuery)
    user_id = distributor_centre.require_distributor(current_user().id).user_id
    page = distributor_centre.attributed_orders_page(user_id, params.page, params.per_page)
    return schemas.AttributedOrderPage(
        page=params.page, per_page=params.per_page, total=page.total, items=page.items
    ).model_dump(mode="json")


def _share_endpoints(product_id: int) -> dict[str, str]:
    """The house's share endpoints for a product (the scene is made on first use)."""
    return {
        "code_url": url_for("api_share.code", product_id=product_id),
        "poster_url": url_for("api_share.poster", product_id=product_id),
        "link_url": url_for("api_share.share_link", product_id=product_id),
        "link_qr_url": url_for("api_share.share_link_qr", product_id=product_id),
    }


@bp.get("/distributor/products")
@api_doc(
    query=promote_schemas.PromoteQuery,
    response=promote_schemas.PromotePage,
    errors=(400, 403),
    tag="distribution",
)
@login_required
def products_to_promote():  # type: ignore[no-untyped-def]
    """On-shelf products with what I would earn per unit at my level after the promotions
    in force, sortable by earning or sales, with my share endpoints for each."""
    params = query(promote_schemas.PromoteQuery)
    user_id = distributor_centre.require_sharer(current_user().id).user_id
    page = promote.products_to_promote(user_id, params.sort, params.page, params.per_page)
    items = [
        {
            "id": item.earning.product_id,
            "title": item.title,
            "subtitle": item.subtitle,
            "category_id": item.category_id,
            "image_url": item.image_url,
            "price_min_fen": item.earning.price_min_fen,
            "price_max_fen": item.earning.price_max_fen,
            "promo_price_min_fen": item.earning.promo_price_min_fen,
            "promo_price_max_fen": item.earning.promo_price_max_fen,
            "earning_min_fen": item.earning.earning_min_fen,
            "earning_max_fen": item.earning.earning_max_fen,
            "rate_bp": item.earning.rate_bp,
            "sales": item.sales,
            "share": _share_endpoints(item.earning.product_id),
        }
        for item in page.items
    ]
    return promote_schemas.PromotePage(
        page=params.page, per_page=params.per_page, total=page.total, sort=params.sort, items=items
    ).model_dump(mode="json")


@bp.get("/distributor/recommendations")
@api_doc(
    query=schemas.PageQuery,
    response=promote_schemas.RecommendationPage,
    errors=(400, 403),
    tag="distribution",
)
@login_required
def recommendations():  # type: ignore[no-untyped-def]
    """Products likely to sell through me (what my customers buy, what is bought with it,
    best sellers), refreshed periodically, with what I would earn per unit, why each is
    recommended, and my share endpoints for each."""
    params = query(schemas.PageQuery)
    user_id = distributor_centre.require_sharer(current_user().id).user_id
    page = recommend.recommended_page(user_id, params.page, params.per_page)
    items = [
        {
            "id": r.item.earning.product_id,
            "title": r.item.title,
            "image_url": r.item.image_url,
            "price_min_fen": r.item.earning.price_min_fen,
            "price_max_fen": r.item.earning.price_max_fen,
            "promo_price_min_fen": r.item.earning.promo_price_min_fen,
            "promo_price_max_fen": r.item.earning.promo_price_max_fen,
            "earning_min_fen": r.item.earning.earning_min_fen,
            "earning_max_fen": r.item.earning.earning_max_fen,
            "rate_bp": r.item.earning.rate_bp,
            "sales": r.item.sales,
            "rank": r.rank,
            "reason": r.reason,
            "reason_text": r.reason_text,
            "reason_product_id": r.reason_product_id,
            "share": _share_endpoints(r.item.earning.product_id),
        }
        for r in page.items
    ]
    return promote_schemas.RecommendationPage(
        page=params.page,
        per_page=params.per_page,
        total=page.total,
        refreshed_at=page.refreshed_at,
        items=items,
    ).model_dump(mode="json")


@bp.get("/distributor/materials")
@api_doc(
    query=promote_schemas.MaterialQuery,
    response=promote_schemas.MaterialPage,
    errors=(400, 403),
    tag="sharing",
)
@login_required
def material_list():  # type: ignore[no-untyped-def]
    """Published promotion materials (素材), of one product or all: words to copy and
    pictures to download."""
    params = query(promote_schemas.MaterialQuery)
    distributor_centre.require_sharer(current_user().id)
    page = materials.published_page(params.product_id, params.page, params.per_page)
    return promote_schemas.MaterialPage(
        page=params.page,
        per_page=params.per_page,
        total=page.total,
        items=[
            promote_schemas.MaterialOut.model_validate(
                {
                    "id": m.id,
                    "title": m.title,
                    "text": m.text,
                    "picture_urls": list(m.pictures),
                    "product_id": m.product_id,
                    "campaign": m.campaign,
                    "used": m.used,
                }
            )
            for m in page.items
        ],
    ).model_dump(mode="json")


@bp.post("/distributor/materials/<int:material_id>/used")
@api_doc(response=promote_schemas.MaterialUsedOut, errors=(403, 404), tag="sharing")
@login_required
def material_used(material_id: int):  # type: ignore[no-untyped-def]
    """Report that I copied the words or downloaded the pictures of a material; answers
    its count."""
    distributor_centre.require_sharer(current_user().id)
    used = materials.mark_used(material_id)
    return promote_schemas.MaterialUsedOut(id=material_id, used=used).model_dump()
