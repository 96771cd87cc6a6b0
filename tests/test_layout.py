"""The house's layout rules that a reader of the source can check (DESIGN.md, Layout)."""

from __future__ import annotations

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
