"""The house's layout rules that a reader of the source can check (DESIGN.md, Layout)."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("wxdist", "miniprogram_api", "jobs")
# The only modules that may say what differs between payment channels or payout rails.
REGISTRIES = {"wxdist/shop/channels.py", "wxdist/money/rails.py"}

_NAME = r"""["'](?:wechat|alipay|bank|v2|v3|wechat_v2|wechat_v3)["']"""
BRANCHES = {
    "comparison": re.compile(rf"(?:==|!=)\s*{_NAME}|{_NAME}\s*(?:==|!=)"),
    "membership": re.compile(rf"\bin\s*[(\[{{]\s*{_NAME}"),
    "match/case": re.compile(rf"^\s*case\s+{_NAME}"),
    "table keyed by name": re.compile(rf"{_NAME}\s*:\s*\S"),
}


def channel_branches(text: str) -> list[str]:
    """Lines of `text` that branch on, or keep a table keyed by, a channel or rail name."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        for kind, pattern in BRANCHES.items():
            if pattern.search(code):
                found.append(f"{number}: {kind}: {line.strip()}")
    return found


def test_no_channel_branches_outside_registries() -> None:
    offending = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in REGISTRIES:
                continue
            offending += [f"{relative}:{hit}" for hit in channel_branches(path.read_text())]
    assert not offending, "look the channel or rail up in its registry:\n" + "\n".join(offending)


@pytest.mark.parametrize(
    "line",
    [  # what the source said before the registries existed
        'if channel == "alipay" and not current_app.config["ALIPAY_ENABLED"]:',
        'if payment.channel == "wechat":',
        'Withdrawal.method != "bank",',
        'if withdrawal.payout_api == "v2":',
        'payout_api=settings.wechat_payout_api if method == "wechat" else None,',
        'CHANNEL_SUFFIX = {"wechat": "W", "alipay": "A"}',
        '"bank": "bank card",',
        'if method in ("wechat", "alipay"):',
        '    case "alipay":',
    ],
)
def test_the_branch_check_catches_the_old_branches(line: str) -> None:
    assert channel_branches(line)


@pytest.mark.parametrize(
    "line",
    [
        'channel: Literal["wechat", "alipay"]',
        'WITHDRAW_METHODS = ("wechat", "alipay", "bank")',
        'params = pay.get("wechat")',
        '"wechat_payout_api": ("v2", "v3"),',
    ],
)
def test_the_branch_check_lets_name_lists_pass(line: str) -> None:
    assert not channel_branches(line)


def test_name_lists_below_the_registries_agree_with_them() -> None:
    """The lists that cannot ask a registry (a lower layer, the API schema) name exactly
    what is registered."""
    from miniprogram_api import schemas
    from wxdist.distribution.settings import CHOICES, WITHDRAW_METHODS
    from wxdist.money import rails
    from wxdist.shop import channels

    assert rails.methods() == WITHDRAW_METHODS
    assert set(CHOICES["wechat_payout_api"]) == {r.api for r in rails.all_rails() if r.api}
    for model in (schemas.PayIn, schemas.PayOut):
        literal = model.model_fields["channel"].annotation
        assert typing.get_args(literal) == channels.names()


# ---- panel views without SQL; small files --------------------------------------------

PANEL = ROOT / "wxdist" / "panel"
SQL_WORDS = {"select", "update", "insert", "delete"}
MAX_LINES = 500
SIZED_TREES = ("wxdist", "payments", "miniprogram_api", "jobs")


def _panel_view_modules() -> list[Path]:
    return [*sorted(PANEL.glob("*_views.py")), PANEL / "filters.py", PANEL / "ui.py"]


def _sql_in(path: Path) -> list[str]:
    """Where a module touches the session or imports SQLAlchemy's statement builders."""
    found: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [
                f"line {node.lineno}: imports {alias.name} from {node.module}"
                for alias in node.names
                if alias.name in SQL_WORDS
            ]
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: imports {alias.name}"
                for alias in node.names
                if alias.name == "sqlalchemy" or alias.name.startswith("sqlalchemy.")
            ]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "session"
            and isinstance(node.value, ast.Name)
            and node.value.id == "db"
        ):
            found.append(f"line {node.lineno}: uses db.session")
    return found


def test_panel_views_write_no_sql() -> None:
    """Panel views read through `wxdist.panel.queries` and change through the services:
    no view module touches `db.session` or builds a statement itself."""
    modules = _panel_view_modules()
    assert len(modules) > 5  # the glob found the page modules
    offences = {
        str(path.relative_to(ROOT)): problems for path in modules if (problems := _sql_in(path))
    }
    assert offences == {}


def test_sql_check_sees_what_it_looks_for(tmp_path: Path) -> None:
    """The check above is not vacuous: it finds each kind of offence."""
    module = tmp_path / "x_views.py"
    module.write_text(
        "from sqlalchemy import func, select\n"
        "import sqlalchemy as sa\n"
        "from wxdist.core.extensions import db\n"
        "rows = db.session.execute(select(1))\n",
        encoding="utf-8",
    )
    problems = _sql_in(module)
    assert len(problems) == 3
    assert any("select" in p for p in problems)
    assert any("db.session" in p for p in problems)


def test_no_source_file_over_500_lines() -> None:
    """Small modules: no .py file in the code trees is longer than 500 lines."""
    long = {
        str(path.relative_to(ROOT)): lines
        for tree in SIZED_TREES
        for path in sorted((ROOT / tree).rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
