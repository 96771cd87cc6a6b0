"""A shopper's address book: at most MAX_ADDRESSES, exactly one default while any exist.

- The first address becomes the default; `set_default` moves the mark in one UPDATE
  (`is_default = (id = :id)` over the user's rows), so two defaults never show.
- Deleting the default promotes the most recently added address left (none when the book
  is empty): the shopper's newest address is the likeliest next one.
- Writes lock the user's row first (SELECT … FOR UPDATE), then read the book with locking
  reads (the latest rows, not the transaction's REPEATABLE READ snapshot), so concurrent
  creations cannot pass the limit together nor leave two defaults.

`region_code` must be a leaf of `accounts.regions` (a district, or a city or region
without one); an unknown one is a Conflict `unknown_region` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from wxdist.accounts import regions
from wxdist.core.errors import Conflict, NotFound
from wxdist.core.extensions import db
from wxdist.models import Address, User

MAX_ADDRESSES = 20


@dataclass(frozen=True)
class AddressSpec:
    name: str
    phone: str
    region_code: str
    detail: str


def region_of(code: str, field: str = "region_code") -> regions.Region:
    """The leaf region of `code`. Raises Conflict `unknown_region` naming `field`."""
    found = regions.region(code)
    if found is None:
        raise Conflict(
            _("This region is unknown; pick a district again."),
            code="unknown_region",
            fields={field: _("no such district code")},
        )
    return found


def _lock_user(user_id: int) -> None:
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())


def list_addresses(user_id: int) -> list[Address]:
    """The default first, then the newest."""
    return list(
        db.session.scalars(
            select(Address)
            .where(Address.user_id == user_id)
            .order_by(Address.is_default.desc(), Address.id.desc())
        )
    )


def get_address(
    user_id: int, address_id: int, field: str = "address_id", lock: bool = False
) -> Address:
    """Raises NotFound naming `field` for another user's address (no hint it exists).
    With `lock`, the row is read afresh FOR UPDATE."""
    query = select(Address).where(Address.id == address_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    address = db.session.scalar(query)
    if address is None or address.user_id != user_id:
        raise NotFound(_("no such address"), fields={field: _("not found")})
    return address


def create_address(user_id: int, spec: AddressSpec, make_default: bool = False) -> Address:
    """Add an address (the default when it is the first or `make_default`). Raises Conflict
    `unknown_region`, `too_many_addresses` when the book is full."""
    region_of(spec.region_code)
    _lock_user(user_id)
    count = db.session.scalar(
        select(func.count())
        .select_from(Address)
        .where(Address.user_id == user_id)
        .with_for_update()
    )
    if (count or 0) >= MAX_ADDRESSES:
        db.session.rollback()
        raise Conflict(
            _("An address book holds at most %(count)s addresses.", count=MAX_ADDRESSES),
            code="too_many_addresses",
        )
    address = Address(
        user_id=user_id,
        name=spec.name,
        phone=spec.phone,
        region_code=spec.region_code,
        detail=spec.detail,
        is_default=not count,
    )
    db.session.add(address)
    db.session.flush()
    if make_default and count:
        _mark_default(user_id, address.id)
    db.session.commit()
    db.session.refresh(address)
    return address


def update_address(
    user_id: int, address_id: int, spec: AddressSpec, make_default: bool = False
) -> Address:
    """Change an address (orders placed with it keep their copy). Raises NotFound,
    Conflict `unknown_region`."""
    region_of(spec.region_code)
    _lock_user(user_id)
    address = get_address(user_id, address_id, lock=True)
    address.name, address.phone = spec.name, spec.phone
    address.region_code, address.detail = spec.region_code, spec.detail
    db.session.flush()
    if make_default:
        _mark_default(user_id, address.id)
    db.session.commit()
    db.session.refresh(address)
    return address


def _mark_default(user_id: int, address_id: int) -> None:
    db.session.execute(
        update(Address)
        .where(Address.user_id == user_id)
        .values(is_default=Address.id == address_id)
        .execution_options(synchronize_session=False)
    )


def set_default(user_id: int, address_id: int) -> Address:
    """Make the address the default, unsetting the old one in the same statement. Raises
    NotFound."""
    _lock_user(user_id)
    address = get_address(user_id, address_id, lock=True)
    _mark_default(user_id, address.id)
    db.session.commit()
    db.session.refresh(address)
    return address


def delete_address(user_id: int, address_id: int) -> None:
    """Remove an address; when it was the default, the newest left becomes it. Raises
    NotFound."""
    _lock_user(user_id)
    address = get_address(user_id, address_id, lock=True)
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        newest = db.session.scalar(
            select(Address.id)
            .where(Address.user_id == user_id)
            .order_by(Address.id.desc())
            .limit(1)
            .with_for_update()
        )
        if newest is not None:
            _mark_default(user_id, newest)
    db.session.commit()


def forget_all(user_id: int) -> None:
    """Delete every address of `user_id` (account deletion; in the caller's transaction).
    Orders keep their own masked copy."""
    db.session.execute(delete(Address).where(Address.user_id == user_id))


def export_rows(user_id: int) -> list[dict[str, object]]:
    """The person's address book as they would read it (their own copy: nothing masked)."""
    return [
        {
            "name": a.name,
            "phone": a.phone,
            "region_code": a.region_code,
            "region": region_of(a.region_code).text if a.region_code else "",
            "detail": a.detail,
            "is_default": a.is_default,
        }
        for a in list_addresses(user_id)
    ]
