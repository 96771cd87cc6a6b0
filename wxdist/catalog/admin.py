"""Catalogue changes the merchant makes in the panel: products, images, SKUs, stock,
categories, per-product commission rates.

Inputs are typed (fen, basis points, ints); each function checks them and raises ApiError
naming the bad fields, NotFound for a missing product or SKU, Conflict when stock moved
under the staff member's feet. Each function commits.

Stock is never overwritten with a number read earlier: `adjust_stock` takes the stock the
staff member saw and the stock they want, and applies the difference relatively
(`stock = stock + (wanted - seen)`), so a reservation made by an order in between is kept;
if that would take the stock below zero it refuses with Conflict and changes nothing. The
SKU's stock alert state follows in the same transaction (`stock_alerts.check`).

A SKU's code (商家编码) is optional and unique (`sku_codes`); a duplicate is an ApiError
naming the field, also when the database's constraint is what caught it (a race).

Posters are keyed by their content (title, lowest active price, first image), so a stale
poster is never served once the product changes; when a change alters what an on-shelf
product's poster shows, the posters are drawn ahead again (the `product_shelved` signal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from wxdist.catalog import sku_codes, stock_alerts
from wxdist.catalog.face import ProductFacts, product_facts
from wxdist.catalog.stock_settings import threshold_errors
from wxdist.core.errors import ApiError, Conflict, NotFound
from wxdist.core.events import product_shelved
from wxdist.core.extensions import db
from wxdist.core.media import MEDIA_URL_PREFIX, check_key
from wxdist.core.money import BP_WHOLE
from wxdist.models import Category, Product, ProductImage, ShippingTemplate, Sku

MAX_IMAGES = 20
MAX_STOCK = 10_000_000
MAX_PRICE_FEN = 10**10  # ¥100,000,000
MAX_SORT = 1_000_000
MAX_WEIGHT_G = 1_000_000  # 1 tonne: a SKU's shipping weight in grams


@dataclass(frozen=True)
class ProductInput:
    """A product's own fields as the merchant edits them (rates in basis points; None:
    use the distributor's level or the programme default)."""

    title: str
    subtitle: str = ""
    description: str = ""
    category_id: int | None = None
    sort: int = 0
    image_urls: tuple[str, ...] = ()
    commission_l1_bp: int | None = None
    commission_l2_bp: int | None = None
    new_category: str = ""  # a category to create (or reuse by name) instead of category_id
    shipping_template_id: int | None = None  # None: ships free


@dataclass(frozen=True)
class SkuInput:
    name: str
    price_fen: int
    stock: int = 0
    is_active: bool = True
    weight_g: int = 0  # for shipping templates by weight
    code: str | None = None  # the merchant's SKU code; None: none
    low_stock_threshold: int | None = None  # None: the store's default


class _Keep:
    """`update_sku`'s "leave this field as it is" (None is a value there)."""


KEEP = _Keep()


@dataclass(frozen=True)
class SkuChange:
    """What `update_sku` changed (for the audit log)."""

    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


# ---- checks ------------------------------------------------------------------------------


def _product_errors(data: ProductInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = _("required")
    elif len(data.title) > 128:
        errors["title"] = _("at most %(count)s characters", count=128)
    if len(data.subtitle) > 255:
        errors["subtitle"] = _("at most %(count)s characters", count=255)
    if len(data.description) > 60_000:
        errors["description"] = _("at most %(count)s characters", count=60000)
    if not -MAX_SORT <= data.sort <= MAX_SORT:
        errors["sort"] = _("from %(low)s to %(high)s", low=-MAX_SORT, high=MAX_SORT)
    if data.new_category.strip():
        if len(data.new_category.strip()) > 64:
            errors["new_category"] = _("at most %(count)s characters", count=64)
    elif data.category_id is not None and db.session.get(Category, data.category_id) is None:
        errors["category_id"] = _("no such category")
    errors.update(_template_errors(data.shipping_template_id))
    if len(data.image_urls) > MAX_IMAGES:
        errors["image_urls"] = _("at most %(count)s images", count=MAX_IMAGES)
    for url in data.image_urls:
        if not _image_url_ok(url):
            errors["image_urls"] = _(
                "not an http(s) URL or an uploaded picture, at most 512 characters: %(url)s",
                url=url[:80],
            )
            break
    for name in ("commission_l1_bp", "commission_l2_bp"):
        value = getattr(data, name)
        if value is not None and not 0 <= value <= BP_WHOLE:
            errors[name] = _("from 0 to 100 %")
    l1, l2 = data.commission_l1_bp, data.commission_l2_bp
    if (
        l1 is not None
        and l2 is not None
        and not errors.keys() & {"commission_l1_bp", "commission_l2_bp"}
        and l1 + l2 > BP_WHOLE
    ):
        errors["commission_l2_bp"] = _("level 1 and level 2 together exceed 100 %")
    return errors


def _template_errors(template_id: int | None) -> dict[str, str]:
    if template_id is not None and db.session.get(ShippingTemplate, template_id) is None:
        return {"shipping_template_id": _("no such shipping template")}
    return {}


def _image_url_ok(url: str) -> bool:
    """An http(s) URL, or the `/media/<key>` URL of a stored (uploaded) picture."""
    if len(url) > 512 or " " in url:
        return False
    if url.startswith(MEDIA_URL_PREFIX):
        try:
            check_key(url[len(MEDIA_URL_PREFIX) :])
        except ValueError:
            return False
        return True
    return url.startswith(("https://", "http://"))


def _sku_errors(sku: SkuInput, prefix: str = "") -> dict[str, str]:
    errors: dict[str, str] = {}
    if not sku.name.strip():
        errors[f"{prefix}name"] = _("required")
    elif len(sku.name) > 128:
        errors[f"{prefix}name"] = _("at most %(count)s characters", count=128)
    if not 0 < sku.price_fen <= MAX_PRICE_FEN:
        errors[f"{prefix}price_fen"] = _("more than 0 and at most ¥100,000,000")
    if not 0 <= sku.stock <= MAX_STOCK:
        errors[f"{prefix}stock"] = _("from %(low)s to %(high)s", low=0, high=MAX_STOCK)
    if not 0 <= sku.weight_g <= MAX_WEIGHT_G:
        errors[f"{prefix}weight_g"] = _("from %(low)s to %(high)s", low=0, high=MAX_WEIGHT_G)
    errors.update(threshold_errors(sku.low_stock_threshold, f"{prefix}low_stock_threshold"))
    return errors


def _commit_codes(names: list[str]) -> None:
    """Commit; a SKU code the unique constraint refused (a race with another save) becomes
    an ApiError naming the code fields `names`."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not names:
            raise
        raise ApiError(
            _("the SKU code is already used"),
            code="sku_code_taken",
            fields=dict.fromkeys(names, sku_codes.taken_message()),
        ) from None


def _refuse(errors: dict[str, str]) -> None:
    if errors:
        db.session.rollback()
        raise ApiError(_("the product has invalid fields"), code="invalid", fields=errors)


def _category_id(data: ProductInput) -> int | None:
    """The product's category: `new_category` found or created by name (not committed),
    else `category_id`."""
    name = data.new_category.strip()
    if not name:
        return data.category_id
    return _find_or_add_category(name).id


def _images(urls: tuple[str, ...]) -> list[ProductImage]:
    return [ProductImage(url=url, sort=index) for index, url in enumerate(urls)]


def product_state(product: Product) -> dict[str, Any]:
    """The editable fields of a product, as the audit log shows them."""
    return {
        "title": product.title,
        "subtitle": product.subtitle,
        "description": product.description,
        "category_id": product.category_id,
        "sort": product.sort,
        "image_urls": [image.url for image in product.images],
        "commission_l1_bp": product.commission_l1_bp,
        "commission_l2_bp": product.commission_l2_bp,
        "shipping_template_id": product.shipping_template_id,
    }


def refresh_posters(product_id: int, face_before: ProductFacts | None) -> None:
    """After commit: tell sharing when an on-shelf product's face (what its posters show)
    changed, so they are drawn ahead again."""
    if product_facts(product_id) == face_before:
        return
    if db.session.scalar(select(Product.on_shelf).where(Product.id == product_id)):
        product_shelved.send(__name__, product_id=product_id)


# ---- products ----------------------------------------------------------------------------


def create_product(data: ProductInput, skus: list[SkuInput]) -> Product:
    """Create a product (off shelf) with its images and SKUs; commits.

    Raises ApiError naming fields (`skus.N.price_fen` for the N-th SKU) for a blank title,
    an unknown category, bad image URLs, rates outside 0–100 % or summing over 100 %, no
    SKU, or a SKU with a bad name, price or stock.
    """
    errors = _product_errors(data)
    if not skus:
        errors["skus"] = _("at least one SKU")
    for index, sku in enumerate(skus):
        errors.update(_sku_errors(sku, f"skus.{index}."))
    codes = [sku_codes.clean(s.code) for s in skus]
    code_names = [f"skus.{index}.code" for index in range(len(skus))]
    errors.update(sku_codes.errors(codes, code_names))
    _refuse(errors)
    product = Product(
        title=data.title.strip(),
        subtitle=data.subtitle.strip(),
        description=data.description,
        category_id=_category_id(data),
        sort=data.sort,
        on_shelf=False,
        commission_l1_bp=data.commission_l1_bp,
        commission_l2_bp=data.commission_l2_bp,
        shipping_template_id=data.shipping_template_id,
        images=_images(data.image_urls),
        skus=[
            Sku(
                name=s.name.strip(),
                price_fen=s.price_fen,
                stock=s.stock,
                is_active=s.is_active,
                weight_g=s.weight_g,
                code=code,
                low_stock_threshold=s.low_stock_threshold,
            )
            for s, code in zip(skus, codes, strict=True)
        ],
    )
    db.session.add(product)
    _commit_codes([name for name, code in zip(code_names, codes, strict=True) if code])
    return product


def update_product(product_id: int, data: ProductInput) -> dict[str, tuple[Any, Any]]:
    """Change a product's own fields (not shelf state, not SKUs); commits. Returns
    {field: (before, after)} of what changed. Raises NotFound, or ApiError as
    `create_product` does."""
    product = get_product(product_id)
    _refuse(_product_errors(data))
    facts = product_facts(product_id)
    before = product_state(product)
    product.title = data.title.strip()
    product.subtitle = data.subtitle.strip()
    product.description = data.description
    product.category_id = _category_id(data)
    product.sort = data.sort
    product.commission_l1_bp = data.commission_l1_bp
    product.commission_l2_bp = data.commission_l2_bp
    product.shipping_template_id = data.shipping_template_id
    if [image.url for image in product.images] != list(data.image_urls):
        product.images = _images(data.image_urls)
    after = product_state(product)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    db.session.commit()
    if changed:
        refresh_posters(product_id, facts)
    return changed


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(_("no such product"), fields={"product_id": _("not found")})
    return product


# ---- SKUs and stock ---------------------------------------------------------------------


def add_sku(product_id: int, sku: SkuInput) -> Sku:
    """Add a SKU to a product; commits. Raises NotFound, or ApiError naming `name`,
    `price_fen`, `stock`, `low_stock_threshold` or `code` (bad form, or taken)."""
    get_product(product_id)
    code = sku_codes.clean(sku.code)
    _refuse({**_sku_errors(sku), **sku_codes.errors([code], ["code"])})
    facts = product_facts(product_id)
    row = Sku(
        product_id=product_id,
        name=sku.name.strip(),
        price_fen=sku.price_fen,
        stock=sku.stock,
        is_active=sku.is_active,
        weight_g=sku.weight_g,
        code=code,
        low_stock_threshold=sku.low_stock_threshold,
    )
    db.session.add(row)
    _commit_codes(["code"] if code else [])
    refresh_posters(product_id, facts)
    return row


def _get_sku(product_id: int, sku_id: int) -> Sku:
    sku = db.session.get(Sku, sku_id)
    if sku is None or sku.product_id != product_id:
        raise NotFound(_("no such SKU"), fields={"sku_id": _("not found")})
    return sku


def update_sku(
    product_id: int,
    sku_id: int,
    *,
    name: str,
    price_fen: int,
    is_active: bool,
    weight_g: int | None = None,
    code: str | _Keep | None = KEEP,
    low_stock_threshold: int | _Keep | None = KEEP,
) -> SkuChange:
    """Change a SKU's name, price, whether it is sold, its weight (None: unchanged), its
    code and its low-stock threshold (None: none / the store's default; KEEP: unchanged);
    never its stock (see `adjust_stock`). Commits. Raises NotFound, or ApiError naming
    `name` / `price_fen` / `weight_g` / `low_stock_threshold` / `code` (bad form, taken)."""
    sku = _get_sku(product_id, sku_id)
    weight = sku.weight_g if weight_g is None else weight_g
    new_code = sku.code if isinstance(code, _Keep) else sku_codes.clean(code)
    threshold = (
        sku.low_stock_threshold if isinstance(low_stock_threshold, _Keep) else low_stock_threshold
    )
    checked = SkuInput(
        name=name, price_fen=price_fen, weight_g=weight, low_stock_threshold=threshold
    )
    errors = _sku_errors(checked)
    if new_code != sku.code:
        errors.update(sku_codes.errors([new_code], ["code"], except_sku_id=sku_id))
    _refuse(errors)
    facts = product_facts(product_id)
    before = {
        "name": sku.name,
        "price_fen": sku.price_fen,
        "is_active": sku.is_active,
        "weight_g": sku.weight_g,
        "code": sku.code,
        "low_stock_threshold": sku.low_stock_threshold,
    }
    after = {
        "name": name.strip(),
        "price_fen": price_fen,
        "is_active": is_active,
        "weight_g": weight,
        "code": new_code,
        "low_stock_threshold": threshold,
    }
    changed = {k for k in before if before[k] != after[k]}
    if not changed:
        db.session.rollback()
        return SkuChange()
    for key in changed:
        setattr(sku, key, after[key])
    changes: list[stock_alerts.Change] = []
    if "low_stock_threshold" in changed or "is_active" in changed:
        db.session.flush()
        changes = stock_alerts.check([sku_id])
    _commit_codes(["code"] if "code" in changed else [])
    stock_alerts.announce(changes)
    refresh_posters(product_id, facts)
    return SkuChange({k: before[k] for k in changed}, {k: after[k] for k in changed})


def adjust_stock(product_id: int, sku_id: int, *, seen: int, wanted: int) -> int:
    """Set a SKU's stock to `wanted` as the staff member meant it when they saw `seen`:
    the difference is applied relatively in one conditional update, so orders that
    reserved (or released) stock meanwhile keep their effect. Commits; returns the stock
    now. Raises NotFound, ApiError naming `stock` for a value outside 0..MAX_STOCK, or
    Conflict naming `stock` when the difference would take the current stock below 0."""
    _get_sku(product_id, sku_id)
    if not 0 <= wanted <= MAX_STOCK:
        db.session.rollback()
        raise ApiError(
            _("invalid stock"),
            code="invalid",
            fields={"stock": _("from %(low)s to %(high)s", low=0, high=MAX_STOCK)},
        )
    delta = wanted - seen
    if delta == 0:
        db.session.rollback()
        return int(db.session.scalar(select(Sku.stock).where(Sku.id == sku_id)) or 0)
    changed = db.session.execute(
        update(Sku)
        .where(Sku.id == sku_id, Sku.stock + delta >= 0, Sku.stock + delta <= MAX_STOCK)
        .values(stock=Sku.stock + delta)
    ).rowcount
    if not changed:
        now = db.session.scalar(select(Sku.stock).where(Sku.id == sku_id))
        db.session.rollback()
        change = f"{delta:+d}"
        raise Conflict(
            _("the stock changed since the page was opened"),
            code="stock_changed",
            fields={
                "stock": _(
                    "now %(now)s (orders moved it since you saw %(seen)s); "
                    "changing it by %(delta)s is not possible — reload and retry",
                    now=now,
                    seen=seen,
                    delta=change,
                )
            },
        )
    stock = int(db.session.scalar(select(Sku.stock).where(Sku.id == sku_id)) or 0)
    changes = stock_alerts.check([sku_id])
    db.session.commit()
    stock_alerts.announce(changes)
    return stock


# ---- categories -------------------------------------------------------------------------


def _find_or_add_category(name: str) -> Category:
    existing = db.session.scalar(
        select(Category).where(Category.name == name).order_by(Category.id).limit(1)
    )
    if existing is not None:
        existing.is_active = True
        return existing
    category = Category(name=name, sort=0, is_active=True)
    db.session.add(category)
    db.session.flush()
    return category


def create_category(name: str) -> Category:
    """An active category with this name (the existing one, reactivated, if there is one);
    commits. Raises ApiError naming `name` when blank or longer than 64 characters."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ApiError(
            _("invalid category"), code="invalid", fields={"name": _("1 to 64 characters")}
        )
    category = _find_or_add_category(name)
    db.session.commit()
    return category
