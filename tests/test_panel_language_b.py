"""What a merchant reads in Chinese on the money and people pages of the panel: flashes
after a withdrawal review, a ship or refund form sent back with the field named, the audit
log's actions by name, the CSV exports' column names in the reader's language; and every
audit action the code records has a name for people.
"""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from payments.emulator import EmulatorServer
from tests.panel_helpers import post_form, staff_client
from tests.shop import login, make_product, pay_order
from tests.test_withdrawals import fund, withdraw
from wxdist.panel.labels import AUDIT_ACTIONS, AUDIT_TARGETS, label

ROOT = Path(__file__).resolve().parent.parent
CHINESE = {"Accept-Language": "zh-CN"}


def chinese_client(app: Flask, role: str) -> FlaskClient:
    """A signed-in staff client whose browser asks for Chinese."""
    client = staff_client(app, role)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    return client


def test_withdrawal_review_flashes_read_in_chinese(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    d = fund(client, app, emulator, run_jobs, "pb-flash", 5000)
    first = withdraw(client, d, 1000).get_json()["id"]
    second = withdraw(client, d, 1200).get_json()["id"]
    finance = chinese_client(app, "finance")

    page = f"/panel/withdrawals/{first}"
    rejected = post_form(finance, page, f"{page}/reject", reason="账户信息有误")
    assert rejected.status_code == 303
    shown = finance.get(page).get_data(as_text=True)
    assert f"提现 {first} 已拒绝，金额已退回余额。" in shown
    assert "rejected; the money" not in shown
    # A withdrawal to WeChat goes to the distributor's change (微信零钱), not a payment.
    assert "微信零钱" in shown and "微信支付" not in shown
    assert "微信零钱" in finance.get("/panel/withdrawals").get_data(as_text=True)

    page = f"/panel/withdrawals/{second}"
    approved = post_form(finance, page, f"{page}/approve", note="")
    assert approved.status_code == 303
    assert f"提现 {second} 已通过。" in finance.get(page).get_data(as_text=True)

    empty = post_form(finance, "/panel/withdrawals", "/panel/withdrawals/bulk", action="reject")
    body = empty.get_data(as_text=True)
    assert empty.status_code == 400
    assert "未作任何改动：请修改下方标出的字段。" in body
    assert "请至少勾选一笔提现" in body and "拒绝时请填写原因。" in body


def test_ship_and_refund_errors_read_in_chinese_beside_their_field(
    client: FlaskClient, app: Flask, emulator: EmulatorServer
) -> None:
    buyer = login(client, "pb-ship-buyer")
    order = pay_order(client, emulator.url, buyer, make_product(app)["sku_id"])
    page = f"/panel/orders/{order['id']}"
    operator = chinese_client(app, "operator")

    missing = post_form(
        operator, page, f"{page}/ship", kind="express", delivery_id="SF", tracking_no=" "
    )
    assert missing.status_code == 400
    body = missing.get_data(as_text=True)
    ship_form = body.split('id="ship"')[1].split("</form>")[0]
    assert "<span>快递单号</span>" in ship_form and "请填写快递单号。" in ship_form
    assert "This field is required" not in body

    refund = post_form(operator, page, f"{page}/refund", scope="part", amount="abc", reason="")
    assert refund.status_code == 400
    refund_form = refund.get_data(as_text=True).split('id="refund"')[1].split("</form>")[0]
    assert "<span>金额（元）</span>" in refund_form
    assert "请输入以元为单位的金额，如 12.50。" in refund_form
    too_much = post_form(operator, page, f"{page}/refund", scope="part", amount="9999")
    assert "此订单最多还可退 ¥" in too_much.get_data(as_text=True)


def test_the_audit_log_names_actions_and_targets_in_chinese(
    client: FlaskClient, app: Flask, emulator: EmulatorServer, run_jobs: Any
) -> None:
    d = fund(client, app, emulator, run_jobs, "pb-audit", 5000)
    w = withdraw(client, d, 1000).get_json()["id"]
    owner = chinese_client(app, "owner")
    page = f"/panel/withdrawals/{w}"
    assert post_form(owner, page, f"{page}/reject", reason="信息有误").status_code == 303

    log = owner.get("/panel/audit").get_data(as_text=True)
    assert "<td>拒绝提现</td>" in log and f"<td>提现 {w}</td>" in log
    assert ">withdrawal.reject<" not in log
    # the filters are lists of named actions and targets, not codes to guess
    assert '<option value="withdrawal.approve" >通过提现</option>' in log
    assert '<option value="distributor" >分销员</option>' in log
    chosen = owner.get("/panel/audit?action=withdrawal.reject&target_type=withdrawal")
    html = chosen.get_data(as_text=True)
    assert '<option value="withdrawal.reject" selected>拒绝提现</option>' in html
    assert "<td>拒绝提现</td>" in html
    history = owner.get(page).get_data(as_text=True)
    assert "<td>拒绝提现</td>" in history and "提现被拒绝，退回余额" in history


def _header(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> list[str]:
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return next(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_csv_exports_name_their_columns_in_the_readers_language(app: Flask) -> None:
    finance = staff_client(app, "finance")  # the test client reads English
    assert _header(finance, "/panel/withdrawals.csv")[:6] == [
        "ID",
        "Created",
        "User ID",
        "Real name",
        "Amount",
        "Fee",
    ]
    assert _header(finance, "/panel/withdrawals.csv", CHINESE)[:6] == [
        "ID",
        "创建时间",
        "用户 ID",
        "真实姓名",
        "金额",
        "手续费",
    ]
    english = _header(finance, "/panel/commissions.csv")
    chinese = _header(finance, "/panel/commissions.csv", CHINESE)
    assert english[2:5] == ["Order number", "Buyer ID", "Buyer"]
    assert chinese[2:5] == ["订单号", "买家 ID", "买家"]
    assert english[-1] == "Settled at" and chinese[-1] == "结算时间"
    assert len(english) == len(chinese) == 15


# ---- every audit action the code records has a label --------------------------------

# The functions that write an audit entry, and the position of their action argument
# (the target type follows it).
AUDIT_WRITERS = {"audited": 0, "audited_action": 1, "record": 1}


def _strings(node: ast.AST) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _writer_arg(call: ast.Call, offset: int) -> ast.AST | None:
    """The action (offset 0) or target type (offset 1) argument of an audit write."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name not in AUDIT_WRITERS:
        return None
    keyword = ("action", "target_type")[offset]
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    position = AUDIT_WRITERS[name] + offset
    return call.args[position] if len(call.args) > position else None


def _audit_writes(path: Path) -> list[tuple[str, set[str], set[str]]]:
    """(where, action codes, target types) of each audit write in a module that imports
    one of the writers. A code held in a variable is read from its assignments in the
    function; a parameter passed on (a writer wrapping another) is left to its callers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module in ("wxdist.accounts.audit", "wxdist.panel.ui")
        for alias in node.names
    }
    local = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    if not (set(AUDIT_WRITERS) & (imported | local)):
        return []
    found = []
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        params = {a.arg for a in function.args.args + function.args.kwonlyargs}
        assigned: dict[str, set[str]] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, set()).update(_strings(node.value))
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            codes = []
            for offset in (0, 1):
                arg = _writer_arg(call, offset)
                if arg is None:
                    break
                if isinstance(arg, ast.Name) and arg.id in params:
                    break  # passed on: the callers name the code
                names = assigned.get(arg.id, set()) if isinstance(arg, ast.Name) else set()
                codes.append(_strings(arg) | names)
            if len(codes) == 2:
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                assert codes[0] and codes[1], f"{where}: cannot tell the audit action or target"
                found.append((where, *codes))
    return found


def test_every_recorded_audit_action_and_target_has_a_label(app: Flask) -> None:
    writes = [
        write
        for folder in ("wxdist", "miniprogram_api", "jobs")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for write in _audit_writes(path)
    ]
    actions = {code for _, codes, _ in writes for code in codes}
    targets = {code for _, _, types in writes for code in types}
    # the scan sees the writes it should: literal, chosen by a condition, and in the CLI
    assert {"withdrawal.reject", "distributor.disable", "staff.enable", "sku.stock"} <= actions
    assert any(where.startswith("wxdist/cli/") for where, _, _ in writes)
    unlabelled = sorted(code for code in actions if code not in AUDIT_ACTIONS)
    assert not unlabelled, f"audit actions without a label in panel/labels.py: {unlabelled}"
    untyped = sorted(code for code in targets if code not in AUDIT_TARGETS)
    assert not untyped, f"audit target types without a label in panel/labels.py: {untyped}"
    with app.test_request_context(headers=CHINESE):  # and the label is Chinese
        for code in actions | targets:
            chinese = label(code)
            assert chinese != code and (code == "sku" or not chinese.isascii()), code
