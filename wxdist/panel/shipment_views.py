"""Shipping from an order's page: ship a package (carrier from WeChat's list, tracking
number, which items) and retry a failed shipping information upload; both audited.

Changes go through `wxdist.shop.shipments` and `wxdist.shop.shipping_info`.
"""

from __future__ import annotations

from flask_babel import gettext as _

from wxdist.core.errors import ApiError, Conflict
from wxdist.models import OrderStatus, SyncState
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.order_views import _attach, _done, _load, _render_detail
from wxdist.panel.shipment_forms import carriers_or_none, ship_form
from wxdist.panel.ui import audited
from wxdist.shop import shipments, shipping_info


@panel_bp.post("/orders/<int:order_id>/ship")
@area("orders")
def order_ship(order_id: int):  # type: ignore[no-untyped-def]
    order = _load(order_id)
    form = ship_form(order, carriers_or_none() or {}, bind=True)
    if not form.validate():
        return _render_detail(order, 400, ship_form=form)
    package = form.package()
    before = {"status": order.status}
    try:
        with audited("order.ship", "order", order_id, before=before) as audit:
            shipment = shipments.ship(order_id, package)
            audit.after = {
                "status": _load(order_id).status,
                "shipment_id": shipment.id,
                "kind": shipment.kind,
                "delivery_id": shipment.delivery_id,
                "tracking_no": shipment.tracking_no,
                "items": {str(i): q for i, q in sorted(package.items.items()) if q},
            }
    except ApiError as exc:
        if exc.status != 400:
            raise
        rename = {f"items.{item_id}": name for name, item_id in form.item_fields}
        if not _attach(form, exc, rename):
            form.form_errors.append(exc.message)
        return _render_detail(_load(order_id), 400, ship_form=form)
    if _load(order_id).status == OrderStatus.SHIPPED:
        return _done(order_id, _("Shipped: every item is on its way."))
    return _done(order_id, _("Package %(seq)s recorded; ship the rest next.", seq=shipment.seq))


@panel_bp.post("/orders/<int:order_id>/shipping/retry")
@area("orders")
def order_shipping_retry(order_id: int):  # type: ignore[no-untyped-def]
    """Upload again the order's failed shipping information (one row per WeChat payment)."""
    _load(order_id)
    failed = [s for s in shipping_info.order_syncs(order_id) if s.state == SyncState.FAILED]
    if not failed:
        raise Conflict(_("only a failed upload can be retried"), code="invalid_status")
    before = {"payments": {str(s.payment_id): [s.state, s.last_error] for s in failed}}
    with audited("order.shipping_retry", "order", order_id, before=before) as audit:
        retried = [shipping_info.retry(s.payment_id) for s in failed]
        audit.after = {"payments": {str(s.payment_id): s.state for s in retried}}
    return _done(order_id, _("Shipping information upload queued again."))
