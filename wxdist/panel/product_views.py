"""Products: the catalogue list, creating and editing a product, its SKUs and stock.

The views validate forms and call `wxdist.catalog.admin` / `wxdist.catalog.products`; every change
is audited. Stock is edited relatively: each SKU form carries the stock the staff member
saw, and the service applies the difference (see `catalog_admin.adjust_stock`).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from wxdist.catalog import admin as catalog_admin
from wxdist.catalog.admin import ProductInput, SkuInput
from wxdist.catalog.products import bad_shelf_request, set_on_shelf
from wxdist.core.errors import ApiError
from wxdist.models import Product, Sku
from wxdist.panel.access import area
from wxdist.panel.blueprint import panel_bp
from wxdist.panel.decimal_fields import REQUIRED
from wxdist.panel.product_forms import (
    CategoryForm,
    NewProductForm,
    NewSkuForm,
    ProductForm,
    ShelfForm,
    SkuForm,
    SkuRow,
    sku_code,
)
from wxdist.panel.queries import products as queries
from wxdist.panel.queries import shipping as shipping_queries
from wxdist.panel.ui import audited, choice_arg, int_arg, page_arg

# ---- helpers -----------------------------------------------------------------------------


def _category_choices() -> list[tuple[Any, str]]:
    rows = queries.categories()
    return [("", _("— none —"))] + [
        (row.id, row.name if row.is_active else _("%(name)s (hidden)", name=row.name))
        for row in rows
    ]


def _set_choices(form: ProductForm) -> None:
    form.category_id.choices = _category_choices()
    form.shipping_template_id.choices = [("", _("— none: ships free —"))] + [
        (row.id, row.name) for row in shipping_queries.templates()
    ]


def _sku_row_blank(row: SkuRow) -> bool:
    name = (row.name.data or "").strip()
    raw_price = (row.price_fen.raw_data or [""])[0].strip()
    raw_stock = (row.stock.raw_data or [""])[0].strip()
    return not name and not raw_price and not raw_stock and not sku_code(row.code)


def _product_input(form: ProductForm) -> ProductInput:
    urls = tuple(line.strip() for line in (form.image_urls.data or "").splitlines() if line.strip())
    return ProductInput(
        title=(form.title.data or "").strip(),
        subtitle=(form.subtitle.data or "").strip(),
        description=form.description.data or "",
        category_id=form.category_id.data,
        sort=form.sort.data or 0,
        image_urls=urls,
        commission_l1_bp=form.commission_l1_bp.data,
        commission_l2_bp=form.commission_l2_bp.data,
        new_category=(form.new_category.data or "").strip(),
        shipping_template_id=form.shipping_template_id.data,
    )


def _show_errors(form: FlaskForm, fields: dict[str, str], aliases: dict[str, str]) -> list[str]:
    """Put a service's field errors next to the form's fields (dotted names reach into
    field lists: `skus.0.price_fen`); returns those that match no field."""
    loose: list[str] = []
    for name, problem in fields.items():
        target: Any = form
        try:
            for part in aliases.get(name, name).split("."):
                target = target[int(part)] if part.isdigit() else target[part]
        except (KeyError, IndexError, TypeError):
            target = None
        if target is None or not isinstance(getattr(target, "errors", None), list | tuple):
            loose.append(f"{name}: {problem}")
            continue
        target.errors = [*target.errors, problem]
    return loose


# ---- list --------------------------------------------------------------------------------


@panel_bp.get("/products")
@area("products")
def products():  # type: ignore[no-untyped-def]
    shelf = choice_arg("shelf", ("on", "off"))
    category_id = int_arg("category")
    q = request.args.get("q", "").strip()[:64]
    page = queries.product_page(page_arg(), shelf, category_id, q)
    return render_template(
        "panel/products.html",
        page=page,
        categories=_category_choices()[1:],
        filters={"shelf": shelf, "category": category_id, "q": q},
        category_form=CategoryForm(),
    )


@panel_bp.post("/products/categories")
@area("products")
def product_category_new():  # type: ignore[no-untyped-def]
    form = CategoryForm()
    if not form.validate_on_submit():
        problem = str(form.name.errors[0]) if form.name.errors else _("invalid")
        flash(_("Category not added: %(problem)s", problem=problem), "error")
        return redirect(url_for("panel.products"), 303)
    category = catalog_admin.create_category(form.name.data or "")
    flash(_("Category “%(name)s” is ready.", name=category.name), "success")
    return redirect(url_for("panel.products"), 303)


# ---- create ------------------------------------------------------------------------------


@panel_bp.route("/products/new", methods=["GET", "POST"])
@area("products")
def product_new():  # type: ignore[no-untyped-def]
    form = NewProductForm()
    _set_choices(form)
    status = 200
    loose: list[str] = []
    if request.method == "POST":
        valid = form.validate()
        rows = [(index, row.form) for index, row in enumerate(form.skus)]
        filled = [(index, row) for index, row in rows if not _sku_row_blank(row)]
        for _index, row in filled:
            if not (row.name.data or "").strip():
                row.name.errors = [*row.name.errors, REQUIRED]
                valid = False
            if row.price_fen.data is None and not row.price_fen.errors:
                row.price_fen.errors = [*row.price_fen.errors, REQUIRED]
                valid = False
        if not filled:
            loose.append(_("Add at least one SKU (name and price)."))
            valid = False
        if valid:
            data = _product_input(form)
            skus = [
                SkuInput(
                    name=(row.name.data or "").strip(),
                    price_fen=row.price_fen.data or 0,
                    stock=row.stock.data or 0,
                    is_active=bool(row.is_active.data),
                    weight_g=row.weight_g.data or 0,
                    code=sku_code(row.code),
                    low_stock_threshold=row.low_stock_threshold.data,
                )
                for _index, row in filled
            ]
            aliases = {
                f"skus.{position}.{name}": f"skus.{index}.{name}"
                for position, (index, _row) in enumerate(filled)
                for name in ("name", "price_fen", "stock", "code", "low_stock_threshold")
            }
            try:
                with audited("product.create", "product", "new") as note:
                    product = catalog_admin.create_product(data, skus)
                    note.target_id = product.id
                    note.after = {
                        **catalog_admin.product_state(product),
                        "skus": [
                            {
                                "id": s.id,
                                "name": s.name,
                                "price_fen": s.price_fen,
                                "stock": s.stock,
                                "code": s.code,
                            }
                            for s in product.skus
                        ],
                    }
                product_id = product.id
                if form.on_shelf.data:
                    with audited(
                        "product.shelf", "product", product_id, before={"on_shelf": False}
                    ) as note:
                        set_on_shelf(product_id, True)
                        note.after = {"on_shelf": True}
            except ApiError as exc:
                loose += _show_errors(form, exc.fields, aliases)
                status = exc.status
            else:
                flash(_("Product created."), "success")
                return redirect(url_for("panel.product_edit", product_id=product_id), 303)
        else:
            status = 400
    return (
        render_template("panel/product_new.html", form=form, loose=loose),
        status,
    )


# ---- edit --------------------------------------------------------------------------------


def _sku_form(sku: Sku) -> SkuForm:
    form = SkuForm(prefix=f"sku{sku.id}", formdata=None, obj=sku)
    form.stock_seen.data = str(sku.stock)
    return form


def render_edit(
    product: Product,
    form: ProductForm | None = None,
    sku_forms: dict[int, SkuForm] | None = None,
    new_sku: NewSkuForm | None = None,
    loose: list[str] | None = None,
    status: int = 200,
    picture_errors: list[str] | None = None,
):  # type: ignore[no-untyped-def]
    if form is None:
        form = ProductForm(formdata=None, obj=product)
        form.image_urls.data = "\n".join(image.url for image in product.images)
        _set_choices(form)
    forms = {sku.id: _sku_form(sku) for sku in product.skus} | (sku_forms or {})
    return (
        render_template(
            "panel/product_edit.html",
            product=product,
            form=form,
            sku_rows=[(sku, forms[sku.id]) for sku in product.skus],
            new_sku=new_sku or NewSkuForm(prefix="new", formdata=None),
            shelf_form=ShelfForm(formdata=None),
            loose=loose or [],
            pictures=queries.product_pictures(product.id),
            picture_errors=picture_errors or [],
        ),
        status,
    )


@panel_bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@area("products")
def product_edit(product_id: int):  # type: ignore[no-untyped-def]
    product = queries.product(product_id) or abort(404)
    if request.method == "GET":
        return render_edit(product)
    form = ProductForm()
    _set_choices(form)
    if not form.validate():
        return render_edit(product, form=form, status=400)
    data = _product_input(form)
    current = catalog_admin.product_state(product)
    proposed = {
        "title": data.title,
        "subtitle": data.subtitle,
        "description": data.description,
        "category_id": data.category_id,
        "sort": data.sort,
        "image_urls": list(data.image_urls),
        "commission_l1_bp": data.commission_l1_bp,
        "commission_l2_bp": data.commission_l2_bp,
        "shipping_template_id": data.shipping_template_id,
    }
    before = {k: v for k, v in current.items() if proposed[k] != v}
    if data.new_category:
        before["category_id"] = current["category_id"]
    if not before:
        flash(_("Nothing changed."), "success")
        return redirect(url_for("panel.product_edit", product_id=product_id), 303)
    try:
        with audited("product.update", "product", product_id, before=before) as note:
            changed = catalog_admin.update_product(product_id, data)
            note.after = {name: new for name, (_, new) in changed.items()}
    except ApiError as exc:
        product = queries.product(product_id) or abort(404)
        loose = _show_errors(form, exc.fields, {})
        return render_edit(product, form=form, loose=loose, status=exc.status)
    flash(_("Product saved."), "success")
    return redirect(url_for("panel.product_edit", product_id=product_id), 303)


@panel_bp.post("/products/<int:product_id>/shelf")
@area("products")
def product_shelf(product_id: int):  # type: ignore[no-untyped-def]
    product = queries.product(product_id) or abort(404)
    form = ShelfForm()
    if not form.validate_on_submit() or form.on_shelf.data not in ("1", "0"):
        raise bad_shelf_request()
    wanted = form.on_shelf.data == "1"
    with audited(
        "product.shelf", "product", product_id, before={"on_shelf": product.on_shelf}
    ) as note:
        changed = set_on_shelf(product_id, wanted)
        note.after = {"on_shelf": wanted, "changed": changed}
    flash(_("On shelf.") if wanted else _("Off shelf."), "success")
    return redirect(url_for("panel.product_edit", product_id=product_id), 303)


@panel_bp.post("/products/<int:product_id>/skus")
@area("products")
def product_sku_add(product_id: int):  # type: ignore[no-untyped-def]
    product = queries.product(product_id) or abort(404)
    form = NewSkuForm(prefix="new")
    if not form.validate():
        return render_edit(product, new_sku=form, status=400)
    sku_input = SkuInput(
        name=(form.name.data or "").strip(),
        price_fen=form.price_fen.data or 0,
        stock=form.stock.data or 0,
        is_active=bool(form.is_active.data),
        weight_g=form.weight_g.data or 0,
        code=sku_code(form.code),
        low_stock_threshold=form.low_stock_threshold.data,
    )
    try:
        with audited("sku.create", "product", product_id) as note:
            sku = catalog_admin.add_sku(product_id, sku_input)
            note.after = {
                "sku_id": sku.id,
                "name": sku.name,
                "price_fen": sku.price_fen,
                "stock": sku.stock,
                "is_active": sku.is_active,
                "code": sku.code,
                "low_stock_threshold": sku.low_stock_threshold,
            }
    except ApiError as exc:
        product = queries.product(product_id) or abort(404)
        loose = _show_errors(form, exc.fields, {})
        return render_edit(product, new_sku=form, loose=loose, status=exc.status)
    flash(_("SKU added."), "success")
    return redirect(url_for("panel.product_edit", product_id=product_id), 303)


@panel_bp.post("/products/<int:product_id>/skus/<int:sku_id>")
@area("products")
def product_sku_edit(product_id: int, sku_id: int):  # type: ignore[no-untyped-def]
    product = queries.product(product_id) or abort(404)
    sku = queries.sku(sku_id)
    if sku is None or sku.product_id != product_id:
        abort(404)
    form = SkuForm(prefix=f"sku{sku_id}")
    seen: int | None
    try:
        seen = int(form.stock_seen.data or "")
    except ValueError:
        seen = None
    valid = form.validate()
    if seen is None:
        form.stock.errors = [*form.stock.errors, _("the page was incomplete; reload and retry")]
        valid = False
    if not valid:
        return render_edit(product, sku_forms={sku_id: form}, status=400)
    assert seen is not None
    wanted = int(form.stock.data or 0)
    try:
        if wanted != seen:
            current = sku.stock
            with audited(
                "sku.stock", "sku", sku_id, before={"stock": current, "seen": seen}
            ) as note:
                now = catalog_admin.adjust_stock(product_id, sku_id, seen=seen, wanted=wanted)
                note.after = {"stock": now, "change": wanted - seen}
        before = {
            "name": sku.name,
            "price_fen": sku.price_fen,
            "is_active": sku.is_active,
            "weight_g": sku.weight_g,
            "code": sku.code,
            "low_stock_threshold": sku.low_stock_threshold,
        }
        proposed = {
            "name": (form.name.data or "").strip(),
            "price_fen": form.price_fen.data or 0,
            "is_active": bool(form.is_active.data),
            "weight_g": form.weight_g.data or 0,
            "code": sku_code(form.code),
            "low_stock_threshold": form.low_stock_threshold.data,
        }
        if proposed != before:
            with audited(
                "sku.update",
                "sku",
                sku_id,
                before={k: v for k, v in before.items() if proposed[k] != v},
            ) as note:
                change = catalog_admin.update_sku(product_id, sku_id, **proposed)
                note.after = change.after
    except ApiError as exc:
        product = queries.product(product_id) or abort(404)
        loose = _show_errors(form, exc.fields, {})
        fresh = queries.sku(sku_id)
        if fresh is not None:  # what the stock is now: a retry applies to this value
            form.stock_seen.data = str(fresh.stock)
        return render_edit(product, sku_forms={sku_id: form}, loose=loose, status=exc.status)
    flash(_("SKU “%(name)s” saved.", name=proposed["name"]), "success")
    return redirect(url_for("panel.product_edit", product_id=product_id), 303)
