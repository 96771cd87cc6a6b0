"""A product's pictures on its edit page: upload one (multipart), move one earlier or later,
delete one. The views call `wxdist.catalog.pictures`, which checks and cleans each upload;
a refused upload shows the edit page again with the problem under the upload control
(400) and stores nothing. Every change is audited.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from wxdist.catalog import pictures
from wxdist.core.errors import ApiError
from wxdist.panel.access import area
from wxdist.panel.blueprint import accepts_upload, panel_bp
from wxdist.panel.product_views import render_edit
from wxdist.panel.queries import products as queries
from wxdist.panel.ui import audited

# A body this large is read, so that a picture over MAX_PICTURE_BYTES is refused by the
# service naming the field; a larger one is refused (413) before it is read.
UPLOAD_LIMIT = 2 * pictures.MAX_PICTURE_BYTES


def _back(product_id: int):  # type: ignore[no-untyped-def]
    return redirect(url_for("panel.product_edit", product_id=product_id) + "#pictures", 303)


@panel_bp.post("/products/<int:product_id>/pictures")
@area("products")
@accepts_upload(UPLOAD_LIMIT, pictures.FIELD)
def product_picture_add(product_id: int):  # type: ignore[no-untyped-def]
    product = queries.product(product_id) or abort(404)
    upload = request.files.get(pictures.FIELD)
    if upload is None or not upload.filename:
        return render_edit(product, picture_errors=[_("choose a picture to upload")], status=400)
    data = upload.stream.read(pictures.MAX_PICTURE_BYTES + 1)
    try:
        with audited("product.picture_add", "product", product_id) as note:
            image = pictures.add_picture(product_id, data)
            note.after = {"image_id": image.id, "url": image.url}
    except ApiError as exc:
        product = queries.product(product_id) or abort(404)
        problems = [exc.fields.get(pictures.FIELD) or exc.message]
        return render_edit(product, picture_errors=problems, status=exc.status)
    flash(_("Picture added."), "success")
    return _back(product_id)


@panel_bp.post("/products/<int:product_id>/pictures/<int:image_id>/move")
@area("products")
def product_picture_move(product_id: int, image_id: int):  # type: ignore[no-untyped-def]
    queries.product(product_id) or abort(404)
    step = {"-1": -1, "1": 1}.get(request.form.get("step", ""))
    if step is None:
        raise pictures.bad_move()
    before = [image.url for image in queries.product_pictures(product_id)]
    with audited("product.picture_move", "product", product_id, before={"urls": before}) as note:
        note.after = {"urls": pictures.move_picture(product_id, image_id, step)}
    flash(_("Pictures reordered."), "success")
    return _back(product_id)


@panel_bp.post("/products/<int:product_id>/pictures/<int:image_id>/delete")
@area("products")
def product_picture_delete(product_id: int, image_id: int):  # type: ignore[no-untyped-def]
    queries.product(product_id) or abort(404)
    with audited("product.picture_delete", "product", product_id) as note:
        note.after = {"image_id": image_id, "url": pictures.delete_picture(product_id, image_id)}
    flash(_("Picture deleted."), "success")
    return _back(product_id)
