"""Promotion materials (素材): words and up to nine pictures staff publish, per product or
per campaign, for distributors to copy and download.

Pictures go through the catalogue's upload path (`catalog.pictures.clean_picture` and
`store_picture`: checked, cleaned of metadata, stored once per content under
`/media/…`). Distributors see published materials only. `used` counts copies and
downloads with one atomic `UPDATE … SET used = used + 1` per report, so concurrent
reports never lose a count.

Every function that changes a material commits (the panel's `audited` block wraps it);
refusals raise ApiError naming the field, NotFound for no such material.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from wxdist.catalog.pictures import FIELD as PICTURE_FIELD
from wxdist.catalog.pictures import clean_picture, store_picture
from wxdist.core.errors import ApiError, NotFound
from wxdist.core.extensions import db
from wxdist.models import Material, Product
from wxdist.models.material import CAMPAIGN_MAX, MAX_MATERIAL_PICTURES, TEXT_MAX, TITLE_MAX

MAX_SORT = 1_000_000


@dataclass(frozen=True)
class MaterialInput:
    """What staff set on a material (its pictures are added one upload at a time)."""

    title: str
    text: str = ""
    product_id: int | None = None
    campaign: str = ""
    sort: int = 0
    published: bool = False


@dataclass(frozen=True)
class Page:
    items: list[Material]
    total: int


def _validate(spec: MaterialInput) -> MaterialInput:
    """The input stripped and checked. Raises ApiError naming each bad field."""
    clean = MaterialInput(
        title=spec.title.strip(),
        text=spec.text.strip(),
        product_id=spec.product_id,
        campaign=spec.campaign.strip(),
        sort=spec.sort,
        published=spec.published,
    )
    errors: dict[str, str] = {}
    if not clean.title:
        errors["title"] = _("required")
    elif len(clean.title) > TITLE_MAX:
        errors["title"] = _("at most %(count)s characters", count=TITLE_MAX)
    if len(clean.text) > TEXT_MAX:
        errors["text"] = _("at most %(count)s characters", count=TEXT_MAX)
    if len(clean.campaign) > CAMPAIGN_MAX:
        errors["campaign"] = _("at most %(count)s characters", count=CAMPAIGN_MAX)
    if not -MAX_SORT <= clean.sort <= MAX_SORT:
        errors["sort"] = _("from %(low)s to %(high)s", low=-MAX_SORT, high=MAX_SORT)
    if clean.product_id is not None and db.session.get(Product, clean.product_id) is None:
        errors["product_id"] = _("no such product")
    if errors:
        raise ApiError(_("invalid material"), code="invalid", fields=errors)
    return clean


def get_material(material_id: int) -> Material:
    """Raises NotFound."""
    material = db.session.get(Material, material_id)
    if material is None:
        raise NotFound(_("no such material"), fields={"material_id": _("not found")})
    return material


def create_material(spec: MaterialInput) -> Material:
    """A new material without pictures; commits. Raises ApiError naming bad fields."""
    clean = _validate(spec)
    material = Material(**clean.__dict__, pictures=[])
    db.session.add(material)
    db.session.commit()
    return material


def update_material(material_id: int, spec: MaterialInput) -> Material:
    """Change a material's words, product, campaign, order and publication; commits.
    Raises NotFound, ApiError naming bad fields."""
    material = get_material(material_id)
    clean = _validate(spec)
    for name, value in clean.__dict__.items():
        setattr(material, name, value)
    db.session.commit()
    return material


def set_published(material_id: int, published: bool) -> Material:
    """Publish (distributors see it) or withdraw a material; commits. Raises NotFound."""
    material = get_material(material_id)
    material.published = published
    db.session.commit()
    return material


def delete_material(material_id: int) -> None:
    """Delete a material (its stored pictures stay: other rows may show the same bytes);
    commits. Raises NotFound."""
    db.session.delete(get_material(material_id))
    db.session.commit()


def add_picture(material_id: int, data: bytes) -> str:
    """Clean and store an uploaded picture and add it last; commits; returns its URL.
    Raises NotFound, ApiError naming `picture`: `too_many_pictures` beyond nine, or as
    `catalog.pictures.clean_picture` refuses the upload."""
    material = get_material(material_id)
    if len(material.pictures) >= MAX_MATERIAL_PICTURES:
        db.session.rollback()
        raise ApiError(
            _("the picture was refused: %(problem)s", problem=_("at most 9 pictures")),
            code="too_many_pictures",
            fields={PICTURE_FIELD: _("a material has at most %(count)s pictures", count=9)},
        )
    url = store_picture(clean_picture(data))
    material.pictures = [*material.pictures, url]  # a new list: the JSON column sees it
    db.session.commit()
    return url


def remove_picture(material_id: int, index: int) -> str:
    """Remove the picture at `index` (0-based); commits; returns its URL. Raises NotFound."""
    material = get_material(material_id)
    if not 0 <= index < len(material.pictures):
        raise NotFound(_("no such picture"), fields={"index": _("not found")})
    kept = list(material.pictures)
    url = kept.pop(index)
    material.pictures = kept
    db.session.commit()
    return str(url)


def staff_page(page: int, per_page: int) -> Page:
    """Every material for the panel, highest sort first, newest first among equals."""
    total = db.session.scalar(select(func.count()).select_from(Material)) or 0
    rows = db.session.scalars(
        select(Material)
        .order_by(Material.sort.desc(), Material.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(list(rows), total)


def published_page(product_id: int | None, page: int, per_page: int) -> Page:
    """Published materials (of one product, or all), highest sort first."""
    conditions = [Material.published.is_(True)]
    if product_id is not None:
        conditions.append(Material.product_id == product_id)
    total = db.session.scalar(select(func.count()).select_from(Material).where(*conditions)) or 0
    rows = db.session.scalars(
        select(Material)
        .where(*conditions)
        .order_by(Material.sort.desc(), Material.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(list(rows), total)


def mark_used(material_id: int) -> int:
    """Count one copy or download of a published material (one atomic UPDATE); commits;
    returns the count after it. Raises NotFound for no such published material."""
    moved = db.session.execute(
        update(Material)
        .where(Material.id == material_id, Material.published.is_(True))
        .values(used=Material.used + 1)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        raise NotFound(_("no such material"), fields={"material_id": _("not found")})
    used = db.session.scalar(select(Material.used).where(Material.id == material_id))
    db.session.commit()
    return int(used or 0)
