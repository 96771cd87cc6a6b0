"""`flask demo --story`: the whole distribution programme against a running instance, one
line a step.

Distributor A applies and is approved, saves an invite poster and a product poster; shopper
B arrives through the product poster's scene and buys with WeChat Pay; A sees frozen
commission; the order ships, completes and settles (days pass by a clock moved forward);
A withdraws to Alipay; finance approves; the payout job pays; A's balance and the
dashboard show it.

What the mini-program does goes over the HTTP API, what WeChat and Alipay do through the
emulator's control endpoints, what staff and time do through the services
(`story_staff`), in the CLI's app context on the running app's database. Raises
StoryFailed (a DemoFailed) at the first step that goes wrong.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from PIL import Image, UnidentifiedImageError
from sqlalchemy.exc import SQLAlchemyError

from wxdist.cli import story_staff as staff
from wxdist.cli.demo import check, yuan
from wxdist.cli.story_staff import StoryFailed

ADDRESS = {
    "name": "张三",
    "phone": "13800138000",
    "region": "浙江省 杭州市 西湖区",
    "detail": "文三路 1 号",
}
ALIPAY_LOGIN = "demo-distributor@example.com"
POLL_SECONDS = 0.2


@dataclass
class StoryResult:
    """What the story made, for whoever runs it (the test reads the files)."""

    distributor_id: int = 0
    shopper_id: int = 0
    order_no: str = ""
    withdrawal_id: int = 0
    posters: list[Path] = field(default_factory=list)


class Story:
    """The story's HTTP side: two mini-program sessions (A and B) and the emulator."""

    def __init__(
        self,
        base_url: str,
        emulator_url: str,
        echo: Callable[[str], None],
        wait_seconds: float,
        drain: Callable[[], object] | None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.api = self.base + "/api/v1"
        self.emulator = emulator_url.rstrip("/")
        self.echo = echo
        self.wait_seconds = wait_seconds
        self.drain = drain  # runs queued jobs while waiting (tests; None: the workers do)
        self.step = 0
        self.a = requests.Session()
        self.b = requests.Session()

    def say(self, name: str, text: str) -> None:
        self.step += 1
        self.echo(f"{self.step:>2}. {name:<12} {text}")

    def login(self, http: requests.Session, nickname: str, scene: str | None = None) -> Any:
        payload: dict[str, Any] = {"code": f"story-{secrets.token_hex(4)}", "nickname": nickname}
        if scene:
            payload["scene"] = scene
        answer = check(http.post(f"{self.api}/auth/login", json=payload, timeout=10), "login")
        http.headers["Authorization"] = f"Bearer {answer['token']}"
        return answer

    def wait_for(self, what: str, probe: Callable[[], Any], hint: str) -> Any:
        """Poll `probe` until it answers something truthy, up to `wait_seconds`."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            if self.drain is not None:
                self.drain()
            found = probe()
            if found:
                return found
            if time.monotonic() > deadline:
                raise StoryFailed(f"{what} after {self.wait_seconds:g} s; {hint}")
            time.sleep(POLL_SECONDS)

    def centre(self) -> Any:
        return check(self.a.get(f"{self.api}/distributor", timeout=10), "distributor centre")

    def save_poster(
        self, out_dir: Path, name: str, params: dict[str, Any]
    ) -> tuple[Path, str, str]:
        """Download one of A's posters as the mini-program does and save it; returns (the
        file, its size and format, its scene). Raises StoryFailed."""
        response = self.a.get(f"{self.api}/distributor/poster", params=params, timeout=60)
        if response.status_code != 200 or response.headers.get("Content-Type") != "image/jpeg":
            raise StoryFailed(f"poster: HTTP {response.status_code} {response.text[:300]}")
        out_dir.mkdir(parents=True, exist_ok=True)
        path = (out_dir / name).resolve()
        path.write_bytes(response.content)
        with Image.open(path) as image:
            size = f"{image.width}×{image.height} {image.format}"
        return path, size, response.headers["X-Share-Scene"]


def run_story(
    base_url: str,
    emulator_url: str,
    out_dir: Path,
    echo: Callable[[str], None],
    wait_seconds: float = 30.0,
    drain: Callable[[], object] | None = None,
) -> StoryResult:
    """Walk the whole programme; call it in the app context of the running app's settings.
    Posters are saved under `out_dir`. Raises StoryFailed (a DemoFailed)."""
    staff.require_safe_instance()
    story = Story(base_url, emulator_url, echo, wait_seconds, drain)
    result = StoryResult()
    try:
        requests.get(f"{story.base}/healthz", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        raise StoryFailed(f"no wxdist at {base_url} ({exc}); start it with `make run`") from None
    try:
        story.say("settings", staff.prepare_settings())
        _distributor_joins(story, result)
        product = _shares(story, result, out_dir)
        order = _shopper_buys(story, result, product)
        commission = _commission_frozen(story, order)
        _order_completes(story, order, commission)
        _withdraws(story, result)
        _balance_and_dashboard(story)
    except requests.RequestException as exc:
        raise StoryFailed(
            f"step {story.step + 1}: the app or the emulator stopped answering ({exc})"
        ) from None
    except SQLAlchemyError as exc:
        raise StoryFailed(
            f"step {story.step + 1}: the database failed ({type(exc).__name__}: {exc})"
        ) from None
    except (OSError, UnidentifiedImageError) as exc:
        raise StoryFailed(f"step {story.step + 1}: the poster could not be saved ({exc})") from None
    return result


def _distributor_joins(story: Story, result: StoryResult) -> None:
    a = story.login(story.a, "演示分销员")
    result.distributor_id = a["user"]["id"]
    phone = f"139{secrets.randbelow(10**8):08d}"
    applied = check(
        story.a.post(
            f"{story.api}/distributor/application",
            json={"real_name": "王小明", "phone": phone, "reason": "分享给朋友"},
            timeout=10,
        ),
        "apply",
    )
    story.say(
        "apply",
        f"distributor A (user #{result.distributor_id}) applies as 王小明: {applied['status']}",
    )
    staff.check_same_database(result.distributor_id, phone)
    status = staff.approve_application(result.distributor_id)
    story.say("review", f"staff approve A's application (the panel's review, audited): {status}")


def _shares(story: Story, result: StoryResult, out_dir: Path) -> Any:
    user_id = result.distributor_id
    path, size, scene = story.save_poster(out_dir, f"story-invite-{user_id}.jpg", {})
    result.posters.append(path)
    story.say("invite", f"A's invite poster ({size}, scene {scene}) saved to {path}")
    products = check(
        story.a.get(f"{story.api}/products", params={"per_page": 20}, timeout=10), "products"
    )
    product = next((p for p in products["items"] if p["in_stock"]), None)
    if product is None:
        raise StoryFailed("no product in stock; run `flask seed`")
    params = {"product_id": product["id"], "channel": "group"}
    name = f"story-product-{user_id}-{product['id']}.jpg"
    path, size, scene = story.save_poster(out_dir, name, params)
    result.posters.append(path)
    story.say("poster", f"A's poster of {product['title']} ({size}, scene {scene}) saved to {path}")
    return {**product, "scene": scene}


def _shopper_buys(story: Story, result: StoryResult, product: Any) -> Any:
    scene = product["scene"]
    check(story.b.post(f"{story.api}/share/scan", json={"scene": scene}, timeout=10), "scan")
    b = story.login(story.b, "演示顾客", scene)
    result.shopper_id = b["user"]["id"]
    referral = b.get("referral") or {}
    if not referral.get("bound") or referral.get("referrer_id") != result.distributor_id:
        raise StoryFailed(f"arrive: B was not bound to A ({referral})")
    story.say(
        "arrive",
        f"shopper B scans A's poster in a group chat, logs in as user #{result.shopper_id}: "
        f"bound to A",
    )
    detail = check(story.b.get(f"{story.api}/products/{product['id']}", timeout=10), "product")
    sku = next((s for s in detail["skus"] if s["stock"] > 0), None)
    if sku is None:
        raise StoryFailed(f"{detail['title']} sold out meanwhile")
    order = check(
        story.b.post(
            f"{story.api}/orders",
            json={"items": [{"sku_id": sku["id"], "quantity": 1}], "address": ADDRESS},
            timeout=10,
        ),
        "order",
    )
    result.order_no = order["order_no"]
    story.say(
        "order",
        f"B orders {detail['title']} / {sku['name']}: {order['order_no']} {order['status']}, "
        f"payable {yuan(order['payable_fen'])}",
    )
    pay = check(
        story.b.post(
            f"{story.api}/orders/{order['id']}/pay", json={"channel": "wechat"}, timeout=20
        ),
        "pay",
    )
    prepay_id = pay["wechat"]["package"].removeprefix("prepay_id=")
    paid = check(
        story.b.post(
            f"{story.emulator}/_emulator/wechat/pay", json={"prepay_id": prepay_id}, timeout=20
        ),
        "emulator pay",
    )
    final = check(story.b.get(f"{story.api}/orders/{order['id']}", timeout=10), "order status")
    if final["status"] != "paid":
        raise StoryFailed(f"pay: the order is {final['status']}, expected paid")
    story.say(
        "pay",
        f"B pays with WeChat Pay, transaction {paid['transaction_id']}: notify answered HTTP "
        f"{paid['notify_status']}, order paid {yuan(final['paid_fen'])}",
    )
    return final


def _commission_frozen(story: Story, order: Any) -> int:
    def earned() -> Any:
        centre = story.centre()
        return centre if centre["balances"]["frozen_fen"] else None

    centre = story.wait_for(
        "no commission for A",
        earned,
        "attribution runs inline without REDIS_URL, else on an RQ worker (`rq worker "
        "-w jobs.worker.AppWorker default payouts`): is one running? A rate of 0 "
        "(`flask settings show`, the product's own rate) earns nothing",
    )
    frozen = centre["balances"]["frozen_fen"]
    story.say(
        "commission",
        f"A sees {yuan(frozen)} frozen on order {order['order_no']} "
        f"(available {yuan(centre['balances']['available_fen'])})",
    )
    return int(frozen)


def _order_completes(story: Story, order: Any, commission: int) -> None:
    carrier, tracking_no = "SF", f"SF{secrets.randbelow(10**12):012d}"
    status = staff.ship(order["id"], carrier, tracking_no)
    story.say(
        "ship", f"staff ship {order['order_no']} by {carrier} {tracking_no} (audited): {status}"
    )
    days, completed = staff.days_pass_to_completion(order["id"])
    story.say("complete", f"{days} days later nobody confirmed receipt: the order completes")
    days = staff.days_pass_to_settlement(order["id"], completed)
    balances = story.centre()["balances"]
    if balances["available_fen"] < commission:
        raise StoryFailed(f"settle: A has {yuan(balances['available_fen'])} available")
    story.say(
        "settle",
        f"{days} days after completion the commission settles: A has "
        f"{yuan(balances['available_fen'])} available, {yuan(balances['frozen_fen'])} frozen",
    )


def _withdraws(story: Story, result: StoryResult) -> None:
    available = story.centre()["balances"]["available_fen"]
    low, high = staff.withdraw_limits()
    amount = min(available, high)
    if amount < low:
        raise StoryFailed(
            f"withdraw: A has {yuan(available)}, below the minimum withdrawal {yuan(low)} "
            "(`flask settings set withdraw_min_fen=…`)"
        )
    withdrawal = check(
        story.a.post(
            f"{story.api}/distributor/withdrawals",
            json={
                "amount_fen": amount,
                "method": "alipay",
                "account": {"alipay_login": ALIPAY_LOGIN, "real_name": "王小明"},
            },
            timeout=10,
        ),
        "withdraw",
    )
    result.withdrawal_id = withdrawal["id"]
    story.say(
        "withdraw",
        f"A withdraws {yuan(amount)} to {withdrawal['account']}: withdrawal "
        f"#{withdrawal['id']} {withdrawal['status']}, fee {yuan(withdrawal['fee_fen'])}",
    )
    status = staff.approve_withdrawal(withdrawal["id"])
    story.say(
        "approve",
        f"finance approve #{withdrawal['id']} through the panel's service (audited), which "
        f"enqueues the payout: {status}",
    )
    url = f"{story.api}/distributor/withdrawals/{withdrawal['id']}"

    def ended() -> Any:
        row = check(story.a.get(url, timeout=10), "withdrawal")
        return row if row["status"] in ("paid", "failed") else None

    row = story.wait_for(
        f"withdrawal #{withdrawal['id']} is not paid",
        ended,
        "payouts run inline without REDIS_URL, else on an RQ worker of the `payouts` queue "
        "(`rq worker -w jobs.worker.AppWorker default payouts`): is one running?",
    )
    if row["status"] != "paid":
        raise StoryFailed(f"payout: withdrawal #{row['id']} failed: {row['failure_reason']}")
    story.say(
        "payout",
        f"the payout job pays {yuan(row['net_fen'])} by Alipay transfer: withdrawal "
        f"#{row['id']} {row['status']}",
    )


def _balance_and_dashboard(story: Story) -> None:
    centre = story.centre()
    balances = centre["balances"]
    story.say(
        "balance",
        f"A's centre: available {yuan(balances['available_fen'])}, frozen "
        f"{yuan(balances['frozen_fen'])}, withdrawing {yuan(balances['withdrawing_fen'])}, "
        f"earned {yuan(centre['lifetime_earned_fen'])}, team {centre['team_size']}",
    )
    story.say("dashboard", staff.dashboard_today())
