"""Promotion materials (素材): the list with a form for a new one, and each material's page
(words, product, campaign, order, publication, pictures uploaded one at a time, delete).
The views call `wxdist.sharing.materials`; a refusal shows the page again with the
problem under its field; every change is audited."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from wxdist.catalog import pictures
from wxdist.core.errors import ApiError, NotFound
from wxdist.models import Material
from wxdist.models.material import (
    CAMPAIGN_MAX,
    MAX_MATERIAL_PICTURES,
    TEXT_MAX,
    TITLE_MAX,
)
from wxdist.panel.access import area
from wxdist.panel.blueprint import accepts_upload, panel_bp
from wxdist.panel.queries.paging import Page
from wxdist.panel.ui import audited, page_arg
from wxdist.sharing import materials

PER_PAGE = 30
UPLOAD_LIMIT = 2 * pictures.MAX_PICTURE_BYTES  # as product pictures (picture_views)


class MaterialForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    text = TextAreaField(
        _l("Text to copy"),
        validators=[Length(max=TEXT_MAX)],
        description=_l("What distributors copy into a chat or a moments post."),
    )
    product_id = IntegerField(
        _l("Product ID"),
        validators=[Optional(), NumberRange(min=1, max=2**62)],
        description=_l("Blank: a material for a campaign or for the shop as a whole."),
    )
    campaign = StringField(
        _l("Campaign"),
        validators=[Length(max=CAMPAIGN_MAX)],
        description=_l("A campaign name or tag, e.g. 双十二."),
    )
    sort = IntegerField(
        _l("Sort"),
        default=0,
        validators=[Optional(), NumberRange(-materials.MAX_SORT, materials.MAX_SORT)],
        description=_l("Higher comes first."),
    )
    published = BooleanField(_l("Published (distributors see it)"))

    def spec(self) -> materials.MaterialInput:
        return materials.MaterialInput(
            title=self.title.data or "",
            text=self.text.data or "",
            product_id=self.product_id.data,
            campaign=self.campaign.data or "",
            sort=self.sort.data or 0,
            published=bool(self.published.data),
        )


def _snapshot(material: Material) -> dict[str, Any]:
    return {
        "title": material.title,
        "product_id": material.product_id,
        "campaign": material.campaign,
        "published": material.published,
        "sort": material.sort,
        "pictures": len(material.pictures),
    }


def _refused(form: MaterialForm, exc: ApiError) -> None:
    """Put the service's refusal under the fields it names (the title when it names none)."""
    for name, problem in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, problem]
    if not exc.fields:
        form.title.errors = [*form.title.errors, exc.message]


def _list(form: MaterialForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    page = page_arg()
    found = materials.staff_page(page, PER_PAGE)
    return (
        render_template(
            "panel/materials.html",
            page=Page(found.items, page, PER_PAGE, page * PER_PAGE < found.total),
            total=found.total,
            form=form or MaterialForm(),
        ),
        status,
    )


def _material(material_id: int) -> Material:
    try:
        return materials.get_material(material_id)
    except NotFound:
        abort(404)


def _edit(  # type: ignore[no-untyped-def]
    material: Material,
    form: MaterialForm | None = None,
    picture_errors: list[str] | None = None,
    status: int = 200,
):
    return (
        render_template(
            "panel/material_edit.html",
            material=material,
            form=form or MaterialForm(obj=material),
            picture_errors=picture_errors or [],
            max_pictures=MAX_MATERIAL_PICTURES,
        ),
        status,
    )


@panel_bp.get("/materials")
@area("marketing")
def materials_page():  # type: ignore[no-untyped-def]
    return _list()


@panel_bp.post("/materials")
@area("marketing")
def material_create():  # type: ignore[no-untyped-def]
    form = MaterialForm()
    if not form.validate_on_submit():
        return _list(form, 400)
    try:
        with audited("material.create", "material", "new") as note:
            created = materials.create_material(form.spec())
            note.target_id = created.id
            note.after = _snapshot(created)
    except ApiError as exc:
        _refused(form, exc)
        return _list(form, exc.status)
    flash(_("Material created; add its pictures here."), "success")
    return redirect(url_for("panel.material_edit", material_id=created.id), 303)


@panel_bp.get("/materials/<int:material_id>")
@area("marketing")
def material_edit(material_id: int):  # type: ignore[no-untyped-def]
    return _edit(_material(material_id))


@panel_bp.post("/materials/<int:material_id>")
@area("marketing")
def material_save(material_id: int):  # type: ignore[no-untyped-def]
    material = _material(material_id)
    form = MaterialForm()
    if not form.validate_on_submit():
        return _edit(material, form, status=400)
    try:
        with audited("material.update", "material", material_id, _snapshot(material)) as note:
            note.after = _snapshot(materials.update_material(material_id, form.spec()))
    except ApiError as exc:
        _refused(form, exc)
        return _edit(_material(material_id), form, status=exc.status)
    flash(_("Material saved."), "success")
    return redirect(url_for("panel.material_edit", material_id=material_id), 303)


@panel_bp.post("/materials/<int:material_id>/publish")
@area("marketing")
def material_publish(material_id: int):  # type: ignore[no-untyped-def]
    material = _material(material_id)
    published = {"1": True, "0": False}.get(request.form.get("published", ""))
    if published is None:
        raise ApiError(_("publish or withdraw"), fields={"published": _("1 or 0")})
    before = {"published": material.published}
    with audited("material.publish", "material", material_id, before) as note:
        note.after = {"published": materials.set_published(material_id, published).published}
    flash(_("Material published.") if published else _("Material withdrawn."), "success")
    return redirect(url_for("panel.materials_page"), 303)


@panel_bp.post("/materials/<int:material_id>/delete")
@area("marketing")
def material_delete(material_id: int):  # type: ignore[no-untyped-def]
    material = _material(material_id)
    with audited("material.delete", "material", material_id, _snapshot(material)):
        materials.delete_material(material_id)
    flash(_("Material deleted."), "success")
    return redirect(url_for("panel.materials_page"), 303)


@panel_bp.post("/materials/<int:material_id>/pictures")
@area("marketing")
@accepts_upload(UPLOAD_LIMIT, pictures.FIELD)
def material_picture_add(material_id: int):  # type: ignore[no-untyped-def]
    material = _material(material_id)
    upload = request.files.get(pictures.FIELD)
    if upload is None or not upload.filename:
        return _edit(material, picture_errors=[_("choose a picture to upload")], status=400)
    data = upload.stream.read(pictures.MAX_PICTURE_BYTES + 1)
    try:
        with audited("material.picture_add", "material", material_id) as note:
            note.after = {"url": materials.add_picture(material_id, data)}
    except ApiError as exc:
        problems = [exc.fields.get(pictures.FIELD) or exc.message]
        return _edit(_material(material_id), picture_errors=problems, status=exc.status)
    flash(_("Picture added."), "success")
    return redirect(url_for("panel.material_edit", material_id=material_id) + "#pictures", 303)


@panel_bp.post("/materials/<int:material_id>/pictures/<int:index>/delete")
@area("marketing")
def material_picture_delete(material_id: int, index: int):  # type: ignore[no-untyped-def]
    _material(material_id)
    with audited("material.picture_delete", "material", material_id) as note:
        note.after = {"url": materials.remove_picture(material_id, index)}
    flash(_("Picture deleted."), "success")
    return redirect(url_for("panel.material_edit", material_id=material_id) + "#pictures", 303)
