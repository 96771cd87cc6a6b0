"""Payout rails: one `PayoutRail` per way a withdrawal is paid, registered by name.

A withdrawal names its method (wechat, alipay, bank) and, for WeChat, the API it was opened
with (`payout_api`: v2 enterprise payment or v3 merchant transfer). Which rail pays it is
decided here, once: `choose` when it is opened (from the programme settings), `for_payout`
afterwards (from what the withdrawal recorded). Each rail wraps its `payments/` adapter
and answers in `GatewayState`s; the payout job and the withdrawal service call the
interface and never branch on a method or rail name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from wxdist.core.errors import ApiError
from wxdist.core.gateways import gateways
from wxdist.distribution.settings import Settings
from wxdist.money.account_vault import mask_account
from wxdist.shop.channels import notify_url

TITLE = "分销佣金提现"


@dataclass(frozen=True)
class GatewayState:
    """What the gateway says about our number: paid, failed, pending, or absent."""

    state: str  # paid | failed | pending | absent | waiting
    reference: str = ""
    reason: str = ""
    package_info: str | None = None


@dataclass(frozen=True)
class AccountIn:
    """What the distributor typed; which fields are needed depends on the method."""

    alipay_login: str = ""
    real_name: str = ""
    bank_name: str = ""
    card_number: str = ""
    holder: str = ""


class Unsupported(Exception):
    """An operation this rail does not have: every gateway call of a rail staff pay by hand
    (never leased), a transfer notify of a rail whose gateway sends none."""


class PayoutRail(Protocol):
    """One payout rail. Gateway operations raise GatewayRejected (a definite refusal) or
    GatewayUnavailable (result unknown: ask again with the same number)."""

    name: str
    method: str  # Withdrawal.method
    api: str | None  # Withdrawal.payout_api
    automatic: bool  # False: staff pay by hand, no payout job
    label: LazyString  # the method, for people (in the reader's language)
    api_label: LazyString | str  # the API, for people ("" when the method has one rail)
    notify_path: str | None  # where the gateway posts transfer notifies, if it does

    def account_details(self, account: AccountIn) -> tuple[dict[str, Any], str]:
        """(details to seal, masked form), or the fields missing by name."""
        ...

    def send(
        self, payout_no: str, amount_fen: int, openid: str, account: Mapping[str, Any]
    ) -> GatewayState:
        """Send the payout with its number."""
        ...

    def query(self, payout_no: str) -> GatewayState:
        """What became of our number (`absent`: send it, with the same number)."""
        ...

    def settle(self, payout_no: str, expired: bool) -> GatewayState:
        """A payout waiting for the payee: ask, and cancel it when `expired` (the
        confirmation window passed) and it is not final yet."""
        ...

    def parse_notify(self, headers: Mapping[str, str], body: bytes) -> tuple[str, GatewayState]:
        """A verified transfer notify: (payout number, state). Raises InvalidNotify."""
        ...


def _missing(account: AccountIn, names: tuple[str, ...], why: str) -> dict[str, str]:
    return {f"account.{n}": why for n in names if not getattr(account, n).strip()}


class _NoNotify:
    notify_path: str | None = None

    def parse_notify(self, headers: Mapping[str, str], body: bytes) -> tuple[str, GatewayState]:
        raise Unsupported(f"{self.__class__.__name__} has no transfer notify")


class _WeChat(_NoNotify):
    method = "wechat"
    automatic = True
    label = _l("WeChat change")

    def account_details(self, account: AccountIn) -> tuple[dict[str, Any], str]:
        return {"name": account.real_name.strip()}, "微信零钱"


class WeChatV2Rail(_WeChat):
    """WeChat Pay v2 enterprise payment (企业付款到零钱): paid at once."""

    name = "wechat_v2"
    api: str | None = "v2"
    api_label = _l("v2 (enterprise payment to WeChat change)")

    def send(
        self, payout_no: str, amount_fen: int, openid: str, account: Mapping[str, Any]
    ) -> GatewayState:
        name = account.get("name") or None
        paid = gateways().wechat_transfer_v2.transfer(
            partner_trade_no=payout_no,
            openid=openid,
            amount_fen=amount_fen,
            desc=TITLE,
            check_name="FORCE_CHECK" if name else "NO_CHECK",
            real_name=name,
            client_ip="127.0.0.1",
        )
        return GatewayState("paid", paid.payment_no)

    def query(self, payout_no: str) -> GatewayState:
        found = gateways().wechat_transfer_v2.query_transfer(payout_no)
        return {
            "SUCCESS": GatewayState("paid", found.payment_no or ""),
            "FAILED": GatewayState("failed", found.payment_no or "", found.reason or "FAILED"),
            "NOTFOUND": GatewayState("absent"),
        }.get(found.status, GatewayState("pending"))

    def settle(self, payout_no: str, expired: bool) -> GatewayState:
        return self.query(payout_no)


def bill_state(bill) -> GatewayState:  # type: ignore[no-untyped-def]
    """A WeChat v3 transfer bill (created, queried, cancelled or notified) as a state."""
    if bill.state == "SUCCESS":
        return GatewayState("paid", bill.transfer_bill_no or "")
    if bill.state == "CANCELLED":
        reason = bill.fail_reason or "bill cancelled: not confirmed by the distributor in time"
        return GatewayState("failed", bill.transfer_bill_no or "", reason)
    if bill.state == "FAIL":
        return GatewayState("failed", bill.transfer_bill_no or "", bill.fail_reason or "FAIL")
    if bill.state == "WAIT_USER_CONFIRM":
        return GatewayState("waiting", bill.transfer_bill_no or "", package_info=bill.package_info)
    if bill.state == "NOT_FOUND":
        return GatewayState("absent")
    return GatewayState("pending", bill.transfer_bill_no or "")


class WeChatV3Rail(_WeChat):
    """WeChat Pay v3 merchant transfer (商家转账): the payee confirms in the mini-program."""

    name = "wechat_v3"
    api: str | None = "v3"
    api_label = _l("v3 (merchant transfer)")
    notify_path: str | None = "/notify/wechat/transfer"

    def send(
        self, payout_no: str, amount_fen: int, openid: str, account: Mapping[str, Any]
    ) -> GatewayState:
        assert self.notify_path is not None
        bill = gateways().wechat_transfer_v3.create_bill(
            out_bill_no=payout_no,
            openid=openid,
            amount_fen=amount_fen,
            remark=TITLE,
            user_name=account.get("name") or None,
            notify_url=notify_url(self.notify_path),
        )
        return bill_state(bill)

    def query(self, payout_no: str) -> GatewayState:
        state = bill_state(gateways().wechat_transfer_v3.query_bill(payout_no))
        if state.state == "waiting" and not state.package_info:
            # A query carries no package_info; sending the same number again returns the
            # bill with it (the gateway keeps one bill per number).
            return GatewayState("absent")
        return state

    def settle(self, payout_no: str, expired: bool) -> GatewayState:
        state = bill_state(gateways().wechat_transfer_v3.query_bill(payout_no))
        if state.state in ("paid", "failed") or not expired:
            return state
        # The money comes back when WeChat reports the bill CANCELLED (notify or next run).
        return bill_state(gateways().wechat_transfer_v3.cancel_bill(payout_no))

    def parse_notify(self, headers: Mapping[str, str], body: bytes) -> tuple[str, GatewayState]:
        bill = gateways().wechat_transfer_v3.parse_notify(headers, body)
        return bill.out_bill_no, bill_state(bill)


class AlipayRail(_NoNotify):
    """Alipay transfer to an Alipay account (单笔转账)."""

    name = "alipay"
    method = "alipay"
    api: str | None = None
    automatic = True
    label = _l("Alipay")
    api_label = ""

    def account_details(self, account: AccountIn) -> tuple[dict[str, Any], str]:
        missing = _missing(account, ("alipay_login", "real_name"), _("required for Alipay"))
        details = {"login": account.alipay_login.strip(), "name": account.real_name.strip()}
        return _checked(missing, details, f"支付宝 {mask_account(details['login'])}")

    def send(
        self, payout_no: str, amount_fen: int, openid: str, account: Mapping[str, Any]
    ) -> GatewayState:
        result = gateways().alipay_transfer.transfer(
            out_biz_no=payout_no,
            amount_fen=amount_fen,
            payee_login_id=account["login"],
            payee_name=account["name"],
            title=TITLE,
        )
        if result.status == "SUCCESS":
            return GatewayState("paid", result.order_id)
        return GatewayState("pending", result.order_id)

    def query(self, payout_no: str) -> GatewayState:
        found = gateways().alipay_transfer.query_transfer(payout_no)
        return {
            "SUCCESS": GatewayState("paid", found.order_id or ""),
            "FAIL": GatewayState("failed", found.order_id or "", found.fail_reason or "FAIL"),
            "REFUND": GatewayState("failed", found.order_id or "", found.fail_reason or "REFUND"),
            "NOT_FOUND": GatewayState("absent"),
        }.get(found.status, GatewayState("pending"))

    def settle(self, payout_no: str, expired: bool) -> GatewayState:
        return self.query(payout_no)


class BankRail(_NoNotify):
    """Bank card: staff transfer by hand and record the result; no gateway."""

    name = "bank"
    method = "bank"
    api: str | None = None
    automatic = False
    label = _l("bank card")
    api_label = ""

    def account_details(self, account: AccountIn) -> tuple[dict[str, Any], str]:
        missing = _missing(
            account, ("bank_name", "card_number", "holder"), _("required for a bank card")
        )
        number = account.card_number.replace(" ", "")
        if number and not (number.isascii() and number.isdigit() and 12 <= len(number) <= 30):
            missing["account.card_number"] = _("12 to 30 digits")
        details = {
            "bank": account.bank_name.strip(),
            "number": number,
            "holder": account.holder.strip(),
        }
        return _checked(missing, details, f"{details['bank']} {mask_account(number)}")

    def send(
        self, payout_no: str, amount_fen: int, openid: str, account: Mapping[str, Any]
    ) -> GatewayState:
        raise Unsupported("bank withdrawals are paid by hand")

    def query(self, payout_no: str) -> GatewayState:
        raise Unsupported("bank withdrawals are paid by hand")

    def settle(self, payout_no: str, expired: bool) -> GatewayState:
        raise Unsupported("bank withdrawals are paid by hand")


def _checked(
    missing: dict[str, str], details: dict[str, Any], masked: str
) -> tuple[dict[str, Any], str]:
    if missing:
        raise ApiError(_("account details are missing"), fields=missing)
    return details, masked


# The first rail of a method is its default (a WeChat withdrawal recorded without an API
# is paid by v3, as before the setting existed).
_RAILS: tuple[PayoutRail, ...] = (WeChatV3Rail(), WeChatV2Rail(), AlipayRail(), BankRail())


class UnknownRail(LookupError):
    """No rail pays this method."""


def all_rails() -> tuple[PayoutRail, ...]:
    return _RAILS


def methods() -> tuple[str, ...]:
    """Every withdrawal method a rail pays, in registration order, each once."""
    return tuple(dict.fromkeys(rail.method for rail in _RAILS))


def manual_methods() -> tuple[str, ...]:
    """Methods that staff pay by hand (no payout job leases them)."""
    return tuple(dict.fromkeys(rail.method for rail in _RAILS if not rail.automatic))


def is_automatic(method: str) -> bool:
    """Whether a payout job pays withdrawals of `method`."""
    return method not in manual_methods()


def label(method: str) -> LazyString:
    """The method as people call it, in the reader's language. Raises UnknownRail."""
    return _of_method(method)[0].label


def api_label(api: str) -> LazyString | str:
    """A payout API (the `wechat_payout_api` setting) as people call it, in the reader's
    language; the value itself if no rail has it."""
    return next((rail.api_label for rail in _RAILS if rail.api == api), api)


def _of_method(method: str) -> list[PayoutRail]:
    found = [rail for rail in _RAILS if rail.method == method]
    if not found:
        raise UnknownRail(method)
    return found


def for_payout(method: str, payout_api: str | None) -> PayoutRail:
    """The rail that pays a withdrawal opened with `method` and `payout_api`: the one of
    that API, else the method's default. Raises UnknownRail."""
    found = _of_method(method)
    return next((rail for rail in found if rail.api == payout_api), found[0])


def choose(method: str, settings: Settings) -> PayoutRail:
    """The rail a new withdrawal of `method` will be paid by: for WeChat, the API the
    programme settings name. Raises UnknownRail."""
    found = _of_method(method)
    return next((rail for rail in found if rail.api == settings.wechat_payout_api), found[0])


def by_name(name: str) -> PayoutRail:
    """The rail called `name`. Raises UnknownRail."""
    for rail in _RAILS:
        if rail.name == name:
            return rail
    raise UnknownRail(name)
