"""What the v3 emulator remembers: transfer bills, payments made, counters; finishing
a bill and posting its notify (which never raises).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app

from payments.emulator.settings import EmulatorSettings
from payments.emulator.wechat_v3.protocol import (
    NOTIFY_TIMEOUT_SECONDS,
    build_notify,
    china_now,
    load_private_key,
    rfc3339,
)

log = logging.getLogger(__name__)


@dataclass
class Bill:
    out_bill_no: str
    transfer_bill_no: str
    appid: str
    openid: str
    transfer_amount: int
    transfer_remark: str
    user_name: str | None  # decrypted
    notify_url: str | None
    transfer_scene_id: str
    user_recv_perception: str | None
    fingerprint: tuple[Any, ...] = field(repr=False)
    state: str = "WAIT_USER_CONFIRM"
    package_info: str | None = None
    fail_reason: str | None = None
    create_time: str = ""
    update_time: str = ""
    notifies_sent: int = 0

    def answer(self) -> dict[str, Any]:
        """The bill as the create and cancel answers show it."""
        data: dict[str, Any] = {
            "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no,
            "create_time": self.create_time,
            "state": self.state,
        }
        if self.state == "WAIT_USER_CONFIRM":
            data["package_info"] = self.package_info
        if self.fail_reason:
            data["fail_reason"] = self.fail_reason
        return data


class WeChatV3State:
    """What the v3 emulator remembers; every access goes through `lock`."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.merchant_public_key: rsa.RSAPublicKey | None = None
        self.platform_key: rsa.RSAPrivateKey | None = None
        if settings.wechat_pay_v3_merchant_private_key:
            merchant = load_private_key(settings.wechat_pay_v3_merchant_private_key)
            self.merchant_public_key = merchant.public_key()
        if settings.wechat_pay_v3_platform_private_key:
            self.platform_key = load_private_key(settings.wechat_pay_v3_platform_private_key)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.bills: dict[str, Bill] = {}
            self.paid: Counter[str] = Counter()
            self.stats: Counter[str] = Counter()
            self.auto_settle_cancel = True

    def count(self, name: str) -> None:
        """Count one request (see `/_emulator/wechat/v3/stats`)."""
        with self.lock:
            self.stats[name] += 1

    def find(self, out_bill_no: str = "", transfer_bill_no: str = "") -> Bill | None:
        with self.lock:
            if transfer_bill_no:
                return next(
                    (b for b in self.bills.values() if b.transfer_bill_no == transfer_bill_no),
                    None,
                )
            return self.bills.get(out_bill_no)

    def notify_payload(self, bill: Bill) -> tuple[dict[str, str], bytes]:
        assert self.platform_key is not None
        s = self.settings
        resource: dict[str, Any] = {
            "out_bill_no": bill.out_bill_no,
            "transfer_bill_no": bill.transfer_bill_no,
            "state": bill.state,
            "mch_id": s.wechat_mch_id,
            "transfer_amount": bill.transfer_amount,
            "openid": bill.openid,
            "create_time": bill.create_time,
            "update_time": bill.update_time,
        }
        if bill.fail_reason:
            resource["fail_reason"] = bill.fail_reason
        return build_notify(
            resource,
            apiv3_key=s.wechat_pay_v3_apiv3_key,
            platform_private_key=self.platform_key,
            public_key_id=s.wechat_pay_v3_public_key_id,
        )

    def finish(
        self, out_bill_no: str, to: str, from_states: tuple[str, ...], reason: str | None = None
    ) -> tuple[Bill | None, str | None]:
        """Move a bill to a final state; (bill, None) or (bill or None, why not)."""
        with self.lock:
            bill = self.bills.get(out_bill_no)
            if bill is None:
                return None, "no such bill"
            if bill.state not in from_states:
                return bill, f"bill is {bill.state}"
            bill.state = to
            bill.fail_reason = reason
            bill.package_info = None
            bill.update_time = rfc3339(china_now())
            if to == "SUCCESS":
                self.paid[out_bill_no] += 1
            return bill, None

    def post_notify(self, bill: Bill) -> tuple[int | None, str]:
        """POST the bill's notify (never raises: a dead receiver gives (None, error))."""
        with self.lock:
            url = bill.notify_url
            headers, body = self.notify_payload(bill)
            if url:
                bill.notifies_sent += 1
                self.stats["notifies"] += 1
        if not url:
            return None, "no notify_url"
        try:
            res = requests.post(url, data=body, headers=headers, timeout=NOTIFY_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            log.warning("v3 notify to %s failed: %s", url, exc)
            return None, str(exc)
        return res.status_code, res.text


def current_state() -> WeChatV3State:
    return current_app.extensions["emulator_wechat_v3"]  # type: ignore[no-any-return]
