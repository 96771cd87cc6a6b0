"""`flask demo`: a shopper's purchase against a running instance, step by step, over HTTP.

It uses only the public API and the emulator's "the shopper paid" action, exactly as the
mini-program and WeChat would. Raises DemoFailed at the first step that goes wrong.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import requests

from wxdist.core.money import yuan_text as yuan


class DemoFailed(RuntimeError):
    pass


def check(response: requests.Response, step: str, expected: tuple[int, ...] = (200, 201)) -> Any:
    if response.status_code not in expected:
        raise DemoFailed(f"{step}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


def run_demo(base_url: str, emulator_url: str, channel: str, echo: Callable[[str], None]) -> str:
    """Log in, order, pay, and wait for the notify; returns the order number."""
    api = base_url.rstrip("/") + "/api/v1"
    http = requests.Session()
    try:
        http.get(base_url.rstrip("/") + "/healthz", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        raise DemoFailed(f"no wxdist at {base_url} ({exc}); start it with `make run`") from None

    code = f"demo-{secrets.token_hex(4)}"
    login = check(
        http.post(f"{api}/auth/login", json={"code": code, "nickname": "演示顾客"}, timeout=10),
        "login",
    )
    http.headers["Authorization"] = f"Bearer {login['token']}"
    echo(f"1. login      wx.login code {code} -> user #{login['user']['id']} (token issued)")

    products = check(http.get(f"{api}/products", params={"per_page": 10}, timeout=10), "products")
    product = next((p for p in products["items"] if p["in_stock"]), None)
    if product is None:
        raise DemoFailed("no product in stock; run `flask seed`")
    detail = check(http.get(f"{api}/products/{product['id']}", timeout=10), "product")
    sku = next(s for s in detail["skus"] if s["stock"] > 0)
    echo(
        f"2. browse     {detail['title']} / {sku['name']} at {yuan(sku['price_fen'])}, "
        f"stock {sku['stock']}"
    )

    order = check(
        http.post(
            f"{api}/orders",
            json={
                "items": [{"sku_id": sku["id"], "quantity": 1}],
                "address": {
                    "name": "张三",
                    "phone": "13800138000",
                    "region": "浙江省 杭州市 西湖区",
                    "region_code": "330106",
                    "detail": "文三路 1 号",
                },
            },
            timeout=10,
        ),
        "order",
    )
    echo(
        f"3. order      {order['order_no']} {order['status']}, payable {yuan(order['payable_fen'])}"
        f" (shipping {yuan(order['shipping_fen'])})"
    )

    pay = check(
        http.post(f"{api}/orders/{order['id']}/pay", json={"channel": channel}, timeout=20), "pay"
    )
    # As the mini-program does: act on what the API answered (wx.requestPayment
    # parameters to pay in place, or a cashier URL to open).
    params = pay.get("wechat")
    if params:
        prepay_id = params["package"].removeprefix("prepay_id=")
        echo(f"4. pay        WeChat JSAPI prepay_id {prepay_id}, paySign {params['paySign'][:12]}…")
        paid = check(
            http.post(
                f"{emulator_url}/_emulator/wechat/pay", json={"prepay_id": prepay_id}, timeout=20
            ),
            "emulator pay",
        )
        reference = paid["transaction_id"]
    else:
        http.get(pay["alipay_url"], timeout=10).raise_for_status()
        echo(f"4. pay        Alipay cashier opened for {pay['out_trade_no']}")
        paid = check(
            http.post(
                f"{emulator_url}/_emulator/alipay/pay",
                json={"out_trade_no": pay["out_trade_no"]},
                timeout=20,
            ),
            "emulator pay",
        )
        reference = paid["trade_no"]
    echo(
        f"5. notify     gateway {reference} -> app answered HTTP {paid['notify_status']} "
        f"{paid['notify_response'].strip()[:60]}"
    )

    final = check(http.get(f"{api}/orders/{order['id']}", timeout=10), "order status")
    if final["status"] != "paid":
        raise DemoFailed(f"order ended {final['status']}, expected paid")
    echo(
        f"6. paid       order {final['order_no']} is {final['status']}: "
        f"{yuan(final['paid_fen'])} via {final['pay_channel']}"
    )
    return final["order_no"]
