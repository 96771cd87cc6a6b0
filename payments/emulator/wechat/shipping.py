"""Shipping information management (发货信息管理) and the carrier list:

- `POST /cgi-bin/express/delivery/open_msg/get_delivery_list`: WeChat's carriers;
- `POST /wxa/sec/order/upload_shipping_info`: validated as WeChat does — the paid trade
  (order_key by transaction_id or mchid + out_trade_no; unknown: 10060001), the payer's
  openid, logistics_type, delivery_mode with `is_all_delivered`, 1–10 packages, item_desc
  ≤ 120 characters, express_company on the list, SF's receiver contact masked
  (189****1234), upload_time RFC 3339 with +08:00; after a complete upload ONE re-upload
  is taken, the next answers 10060003 (re-upload limit);
- `POST /wxa/sec/order/get_order`: order_state and the shipping uploaded;
- `POST /wxa/sec/order/notify_confirm_receive`: the shopper received it (counted).

Fault injection as elsewhere (`/_emulator/faults` with the path as key): mode `fail` with
code 10060001 and `times` N makes the first N uploads answer "payment not found yet".
Counters: `GET /_emulator/wechat/shipping` (uploads and duplicate uploads per transaction,
re-uploads, refusals, receipt notices); `GET /_emulator/wechat/shipping/<transaction_id>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, jsonify, request

from payments.emulator.wechat.state import Trade, WeChatState, current_state
from payments.emulator.wechat.wire import api_call, json_error, json_object

bp = Blueprint("emulator_wechat_shipping", __name__)

CARRIERS = {
    "SF": "顺丰速运",
    "ZTO": "中通快递",
    "YTO": "圆通速递",
    "STO": "申通快递",
    "YD": "韵达快递",
    "JTSD": "极兔速递",
    "EMS": "中国邮政速递物流",
    "JD": "京东物流",
    "DBL": "德邦快递",
    "HTKY": "百世快递",
}
NOT_FOUND_YET = 10060001
REUPLOAD_LIMIT = 10060003
INVALID = 40097
UPLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?\+08:00$")
MASKED = re.compile(r"^\d{3}\*{4}\d{4}$")


@dataclass
class Shipped:
    """What WeChat holds for one transaction."""

    transaction_id: str
    out_trade_no: str
    uploads: int = 0
    duplicates: int = 0  # uploads identical to the one before
    reuploads: int = 0  # uploads after a complete one
    refused: int = 0
    complete: bool = False
    last: dict[str, Any] = field(default_factory=dict)
    confirms: int = 0


def _trade(state: WeChatState, key: dict[str, Any]) -> Trade | None:
    """The paid trade an order_key (or get_order body) names."""
    transaction_id = key.get("transaction_id")
    if transaction_id:
        out_trade_no = state.transaction_index.get(str(transaction_id))
        if out_trade_no is None:
            trade = state.find_trade(transaction_id=str(transaction_id))
            if trade is None:
                return None
            state.transaction_index[str(transaction_id)] = trade.out_trade_no
            return trade
        return state.trades.get(out_trade_no)
    mchid = key.get("mchid") or key.get("merchant_id")
    if mchid != state.settings.wechat_mch_id:
        return None
    return state.trades.get(str(key.get("out_trade_no") or key.get("merchant_trade_no") or ""))


@bp.post("/cgi-bin/express/delivery/open_msg/get_delivery_list")
@api_call("get_delivery_list")
def get_delivery_list() -> Response:
    rows = [{"delivery_id": k, "delivery_name": v} for k, v in CARRIERS.items()]
    return jsonify(errcode=0, errmsg="ok", delivery_list=rows, count=len(rows))


def _check_package(entry: Any, logistics_type: int) -> str | None:
    if not isinstance(entry, dict):
        return "shipping_list entry is not an object"
    desc = entry.get("item_desc")
    if not isinstance(desc, str) or not 1 <= len(desc) <= 120:
        return "item_desc must be 1 to 120 characters"
    if logistics_type != 1:
        return None
    company = entry.get("express_company")
    if company not in CARRIERS:
        return f"express_company {company!r} is not on the delivery list"
    if not isinstance(entry.get("tracking_no"), str) or not entry["tracking_no"]:
        return "tracking_no is required for express"
    if company == "SF":
        contact = (entry.get("contact") or {}).get("receiver_contact")
        if not isinstance(contact, str) or not MASKED.match(contact):
            return "SF needs contact.receiver_contact masked like 189****1234"
    return None


def _check_upload(body: dict[str, Any]) -> str | None:
    """What is wrong with an upload's fields (not its trade), or None."""
    logistics_type = body.get("logistics_type")
    if logistics_type not in (1, 2, 3, 4):
        return "logistics_type must be 1, 2, 3 or 4"
    mode = body.get("delivery_mode")
    packages = body.get("shipping_list")
    if mode not in (1, 2):
        return "delivery_mode must be 1 or 2"
    if not isinstance(packages, list) or not 1 <= len(packages) <= 10:
        return "shipping_list must hold 1 to 10 packages"
    if mode == 1 and len(packages) != 1:
        return "unified delivery has exactly one package"
    if mode == 2 and not isinstance(body.get("is_all_delivered"), bool):
        return "split delivery needs is_all_delivered"
    upload_time = body.get("upload_time")
    if not isinstance(upload_time, str) or not UPLOAD_TIME.match(upload_time):
        return "upload_time must be RFC 3339 with +08:00"
    for entry in packages:
        problem = _check_package(entry, logistics_type)
        if problem:
            return problem
    return None


def _content(body: dict[str, Any]) -> dict[str, Any]:
    """What an upload says, without its time (two uploads saying the same are duplicates)."""
    return {k: v for k, v in body.items() if k != "upload_time"}


@bp.post("/wxa/sec/order/upload_shipping_info")
@api_call("upload_shipping_info")
def upload_shipping_info() -> Response:
    state = current_state()
    body = json_object()
    if not isinstance(body.get("order_key"), dict):
        return json_error(47001, "data format error")
    with state.lock:
        trade = _trade(state, body["order_key"])
        if trade is None or trade.state not in ("SUCCESS", "REFUND") or not trade.transaction_id:
            return json_error(NOT_FOUND_YET, "payment not found yet")
        if (body.get("payer") or {}).get("openid") != trade.openid:
            return json_error(INVALID, "payer openid does not match the payment")
        problem = _check_upload(body)
        if problem:
            return json_error(INVALID, problem)
        record = state.shipping.setdefault(
            trade.transaction_id, Shipped(trade.transaction_id, trade.out_trade_no)
        )
        if record.complete:
            if record.reuploads >= 1:
                record.refused += 1
                state.stats["shipping_reupload_refused"] += 1
                return json_error(REUPLOAD_LIMIT, "re-upload limit: shipping info changed once")
            record.reuploads += 1
        if record.uploads and _content(body) == _content(record.last):
            record.duplicates += 1
            state.stats["shipping_duplicates"] += 1
        record.uploads += 1
        state.stats["shipping_uploads"] += 1
        record.last = body
        record.complete = record.complete or body["delivery_mode"] == 1 or body["is_all_delivered"]
    return jsonify(errcode=0, errmsg="ok")


@bp.post("/wxa/sec/order/get_order")
@api_call("get_shipping_order")
def get_order() -> Response:
    state = current_state()
    body = request.get_json(force=True, silent=True) or {}
    with state.lock:
        trade = _trade(state, body if isinstance(body, dict) else {})
        if trade is None or not trade.transaction_id:
            return json_error(NOT_FOUND_YET, "payment not found yet")
        record: Shipped | None = state.shipping.get(trade.transaction_id)
        order: dict[str, Any] = {
            "transaction_id": trade.transaction_id,
            "merchant_id": state.settings.wechat_mch_id,
            "merchant_trade_no": trade.out_trade_no,
            "openid": trade.openid,
            "order_state": 1,
        }
        if record is not None and record.uploads:
            last = record.last
            order["order_state"] = 3 if record.confirms else 2
            order["shipping"] = {
                "delivery_mode": last["delivery_mode"],
                "logistics_type": last["logistics_type"],
                "finish_shipping": record.complete,
                "finish_shipping_count": record.reuploads,
                "shipping_list": [
                    {
                        "tracking_no": p.get("tracking_no", ""),
                        "express_company": p.get("express_company", ""),
                        "upload_time": last["upload_time"],
                    }
                    for p in last["shipping_list"]
                ],
            }
    return jsonify(errcode=0, errmsg="ok", order=order)


@bp.post("/wxa/sec/order/notify_confirm_receive")
@api_call("notify_confirm_receive")
def notify_confirm_receive() -> Response:
    state = current_state()
    body = request.get_json(force=True, silent=True) or {}
    if not isinstance(body, dict) or not isinstance(body.get("received_time"), int):
        return json_error(INVALID, "received_time (unix seconds) is required")
    with state.lock:
        trade = _trade(state, body)
        record = trade and trade.transaction_id and state.shipping.get(trade.transaction_id)
        if not record or not record.complete:
            return json_error(10060002, "the order has not shipped")
        record.confirms += 1
        if record.confirms > 1:
            state.stats["confirm_receive_duplicates"] += 1
    return jsonify(errcode=0, errmsg="ok")


@bp.get("/_emulator/wechat/shipping")
def control_shipping() -> Response:
    """Counters for tests and the bench."""
    state = current_state()
    with state.lock:
        records: list[Shipped] = list(state.shipping.values())
        return jsonify(
            uploads={r.transaction_id: r.uploads for r in records},
            duplicates={r.transaction_id: r.duplicates for r in records if r.duplicates},
            total_uploads=state.stats["shipping_uploads"],
            duplicate_uploads=state.stats["shipping_duplicates"],
            reuploads=sum(r.reuploads for r in records),
            reupload_refused=state.stats["shipping_reupload_refused"],
            confirms={r.transaction_id: r.confirms for r in records if r.confirms},
            confirm_duplicates=state.stats["confirm_receive_duplicates"],
            upload_requests=state.stats["upload_shipping_info"],
            delivery_list_requests=state.stats["get_delivery_list"],
        )


@bp.get("/_emulator/wechat/shipping/<transaction_id>")
def control_shipping_record(transaction_id: str) -> tuple[Response, int] | Response:
    state = current_state()
    with state.lock:
        record: Shipped | None = state.shipping.get(transaction_id)
        if record is None:
            return jsonify(error="nothing uploaded for this transaction"), 404
        return jsonify(
            uploads=record.uploads,
            duplicates=record.duplicates,
            reuploads=record.reuploads,
            refused=record.refused,
            complete=record.complete,
            confirms=record.confirms,
            last=record.last,
        )


@bp.post("/_emulator/wechat/paid-trades")
def control_paid_trades() -> tuple[Response, int] | Response:
    """Body {"trades": [{out_trade_no, transaction_id, openid, total_fee}]}: remember trades
    as paid without the pay flow (bench/fulfilment.py seeds thousands of paid orders)."""
    rows = (request.get_json(silent=True) or {}).get("trades")
    if not isinstance(rows, list):
        return jsonify(error="trades must be a list"), 400
    state = current_state()
    with state.lock:
        for row in rows:
            try:
                trade = Trade(
                    out_trade_no=str(row["out_trade_no"]),
                    prepay_id="",
                    openid=str(row["openid"]),
                    total_fee=int(row["total_fee"]),
                    body="bench",
                    notify_url="",
                    trade_type="JSAPI",
                    attach=None,
                    sign_type="MD5",
                    fingerprint=(),
                    state="SUCCESS",
                    transaction_id=str(row["transaction_id"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                return jsonify(error=f"bad trade: {exc}"), 400
            state.trades[trade.out_trade_no] = trade
            state.transaction_index[trade.transaction_id] = trade.out_trade_no
    return jsonify(ok=True, trades=len(rows))
