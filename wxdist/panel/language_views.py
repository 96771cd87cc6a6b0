"""The panel's language: each staff member picks zh_CN, en, or the browser's choice."""

from __future__ import annotations

from flask import redirect
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField

from wxdist.accounts.staff import PANEL_LANGUAGES, set_language
from wxdist.panel.blueprint import panel_bp, panel_referrer


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=[(code, code) for code in PANEL_LANGUAGES])


@panel_bp.post("/language")
@login_required
def language():  # type: ignore[no-untyped-def]
    """Save the signed-in staff member's language and go back to the page they were on."""
    form = LanguageForm()
    chosen = form.language.data if form.validate_on_submit() else "?"
    set_language(current_user.id, chosen or "")
    return redirect(panel_referrer("panel.dashboard"))
