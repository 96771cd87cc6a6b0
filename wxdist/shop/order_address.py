"""Where an order goes: an address of the shopper's book (by id) or one given inline,
resolved to the receiver the order copies (later edits of the book leave it alone)."""

from __future__ import annotations

from dataclasses import dataclass

from wxdist.accounts import addresses, regions


@dataclass(frozen=True)
class Address:
    """An inline address; with `region_code` its region text is the code's names."""

    name: str
    phone: str
    region: str
    detail: str
    region_code: str | None = None


@dataclass(frozen=True)
class Receiver:
    name: str
    phone: str
    region_text: str
    detail: str
    region: regions.Region | None  # None: an inline address without a code
    field: str  # what errors about the region name: address_id or address.region_code

    @property
    def region_code(self) -> str | None:
        return self.region.code if self.region is not None else None


def resolve(user_id: int, address: Address | int) -> Receiver:
    """The receiver of `address` (an inline one, or the id of one of the user's). Raises
    NotFound (`address_id`) for another user's address, Conflict `unknown_region`
    (`address.region_code`, or `address_id` when a book's code left the revision)."""
    if isinstance(address, int):
        held = addresses.get_address(user_id, address)
        region = addresses.region_of(held.region_code, "address_id")
        return Receiver(held.name, held.phone, region.text, held.detail, region, "address_id")
    field = "address.region_code"
    if address.region_code is None:
        return Receiver(address.name, address.phone, address.region, address.detail, None, field)
    region = addresses.region_of(address.region_code, field)
    return Receiver(address.name, address.phone, region.text, address.detail, region, field)
