"""The ship form of an order's page (carrier from WeChat's list, tracking number, which
items: by default everything not shipped yet, in one package; ship the rest in another
package after) and what the page shows of the order's shipments and their upload."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from wxdist.core.errors import GatewayFailed
from wxdist.models import Order, Shipment, ShipmentKind, ShippingSync
from wxdist.shop import shipments, shipping_info

KIND_LABELS = {
    ShipmentKind.EXPRESS: _l("Express (carrier and tracking number)"),
    ShipmentKind.VIRTUAL: _l("Virtual goods (nothing to carry)"),
    ShipmentKind.PICKUP: _l("Picked up by the shopper"),
}


class ShipForm(FlaskForm):
    kind = SelectField(
        _l("Shipping kind"),
        choices=[(k, v) for k, v in KIND_LABELS.items()],
        default=ShipmentKind.EXPRESS,
    )
    delivery_id = SelectField(_l("Carrier"), choices=[], default="")
    tracking_no = StringField(
        _l("Tracking number"),
        validators=[Length(max=64, message=_l("Tracking number: at most 64 characters."))],
    )

    item_fields: list[tuple[str, Any]]

    def validate_delivery_id(self, field: SelectField) -> None:
        if self.kind.data == ShipmentKind.EXPRESS and not field.data:
            raise ValidationError(_("Choose the carrier."))

    def validate_tracking_no(self, field: StringField) -> None:
        if self.kind.data == ShipmentKind.EXPRESS and not (field.data or "").strip():
            raise ValidationError(_("Enter the tracking number."))

    def package(self) -> shipments.Package:
        return shipments.Package(
            kind=self.kind.data or ShipmentKind.EXPRESS,
            delivery_id=self.delivery_id.data or None,
            tracking_no=(self.tracking_no.data or "").strip() or None,
            items={item_id: self[name].data or 0 for name, item_id in self.item_fields},
        )


def ship_form(order: Order, carriers: dict[str, str], bind: bool = False) -> ShipForm:
    """A ship form for `order` with a quantity field per item still to ship (each defaults
    to what is left); `bind` reads the request's form."""
    left = {i: q for i, q in shipments.unshipped(order.id).items() if q > 0}

    class OrderShipForm(ShipForm):
        pass

    names: list[tuple[str, int]] = []
    for item in order.items:
        if item.id not in left:
            continue
        name = f"qty_{item.id}"
        setattr(
            OrderShipForm,
            name,
            IntegerField(
                _l("%(title)s · %(sku)s", title=item.title, sku=item.sku_name),
                default=left[item.id],
                validators=[
                    Optional(),
                    NumberRange(
                        min=0,
                        max=left[item.id],
                        message=_l("From 0 to %(count)s.", count=left[item.id]),
                    ),
                ],
                description=_l("%(count)s left to ship", count=left[item.id]),
            ),
        )
        names.append((name, item.id))
    form = OrderShipForm() if bind else OrderShipForm(formdata=None)
    form.item_fields = names
    form.delivery_id.choices = [("", _("Choose…"))] + [
        (code, f"{name} ({code})") for code, name in carriers.items()
    ]
    return form


def carriers_or_none() -> dict[str, str] | None:
    """WeChat's carriers (cached), None when WeChat cannot give the list right now."""
    try:
        return shipments.company_names()
    except GatewayFailed:
        return None


@dataclass
class ShippingPanel:
    """What the order page shows about shipping."""

    shipments: list[Shipment]
    syncs: list[ShippingSync]
    carriers: dict[str, str]
    carriers_unavailable: bool
    lines: dict[int, list[tuple[str, int]]] = field(default_factory=dict)


def shipping_panel(order: Order) -> ShippingPanel:
    carriers = carriers_or_none()
    titles = {item.id: f"{item.title} · {item.sku_name}" for item in order.items}
    rows = shipments.order_shipments(order.id)
    lines = {s.id: [(titles.get(i.order_item_id, ""), i.quantity) for i in s.items] for s in rows}
    return ShippingPanel(
        shipments=rows,
        syncs=shipping_info.order_syncs(order.id),
        carriers=carriers or {},
        carriers_unavailable=carriers is None,
        lines=lines,
    )
