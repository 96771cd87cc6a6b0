"""Alipay payouts: transfer money to a person's Alipay account, and query a transfer.

`AlipayTransferGateway` is the `AlipayGateway` of the same Alipay app (same config, keys,
emulator URL and error mapping) plus `transfer` (`alipay.fund.trans.uni.transfer`, product
TRANS_ACCOUNT_NO_PWD, scene DIRECT_TRANSFER, payee by Alipay login id and real name) and
`query_transfer` (`alipay.fund.trans.common.query`). Amounts go in and come out as integer
fen. It knows nothing of withdrawals: the caller owns `out_biz_no`, Alipay's idempotency
number for a payout, and must keep it for every retry and query of that payout.

Errors, as for every Alipay call (see `payments.alipay`): `GatewayRejected` is a definite
failure (nothing was paid; `code` is Alipay's sub_code, e.g. PAYEE_NOT_EXIST,
PAYEE_USER_INFO_ERROR, PAYEE_ACCOUNT_STATUS_ERROR, PAYER_BALANCE_NOT_ENOUGH,
BALANCE_IS_NOT_ENOUGH, EXCEED_LIMIT_SM_AMOUNT, INVALID_PARAMETER); `GatewayUnavailable`
means the result is unknown (transport error, timeout, HTTP error, bad answer signature,
SYSTEM_ERROR, code 20000, isp.*): settle it with `query_transfer(out_biz_no)`, or by sending
the same transfer again with the same out_biz_no, never with a new number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alipay.aop.api.domain.AlipayFundTransCommonQueryModel import AlipayFundTransCommonQueryModel
from alipay.aop.api.domain.AlipayFundTransUniTransferModel import AlipayFundTransUniTransferModel
from alipay.aop.api.domain.Participant import Participant
from alipay.aop.api.request.AlipayFundTransCommonQueryRequest import (
    AlipayFundTransCommonQueryRequest,
)
from alipay.aop.api.request.AlipayFundTransUniTransferRequest import (
    AlipayFundTransUniTransferRequest,
)
from alipay.aop.api.response.AlipayFundTransCommonQueryResponse import (
    AlipayFundTransCommonQueryResponse,
)
from alipay.aop.api.response.AlipayFundTransUniTransferResponse import (
    AlipayFundTransUniTransferResponse,
)

from payments.alipay import AlipayGateway, _answer_fen, _check_echo
from payments.errors import GatewayRejected, GatewayUnavailable
from payments.money import fen_to_yuan

TRANSFER_METHOD = "alipay.fund.trans.uni.transfer"
QUERY_METHOD = "alipay.fund.trans.common.query"
PRODUCT_CODE = "TRANS_ACCOUNT_NO_PWD"
BIZ_SCENE = "DIRECT_TRANSFER"
IDENTITY_TYPE = "ALIPAY_LOGON_ID"
MIN_TRANSFER_FEN = 10  # Alipay refuses a transfer below 0.10 yuan
MAX_TITLE_CHARS = 128

SUCCESS = "SUCCESS"
FAIL = "FAIL"
DEALING = "DEALING"
REFUND = "REFUND"
NOT_FOUND = "NOT_FOUND"
ORDER_NOT_EXIST = "ORDER_NOT_EXIST"
# Sub_codes that refuse this request without telling what became of the out_biz_no:
# "same number, other parameters" (an earlier request with this number may have paid) and
# "still being processed".
UNKNOWN_TRANSFER_SUB_CODES = frozenset({"PAYMENT_INFO_INCONSISTENCY", "REQUEST_PROCESSING"})
# Query statuses that are not final yet; CLOSED (timed out before paying) is a failure.
PENDING_QUERY_STATUSES = frozenset({DEALING, "INIT", "WAIT_PAY"})


@dataclass(frozen=True)
class TransferResult:
    """Alipay accepted the transfer. `status` is SUCCESS (paid) or DEALING (in progress:
    settle later with `query_transfer`). `trans_date` is Alipay's "yyyy-MM-dd HH:mm:ss"
    (Asia/Shanghai)."""

    order_id: str
    pay_fund_order_id: str | None
    status: str
    trans_date: str | None


@dataclass(frozen=True)
class TransferQuery:
    """What Alipay knows of a transfer: status SUCCESS (paid), FAIL (not paid), DEALING (in
    progress), REFUND (paid, then returned to the merchant, e.g. the account was closed) or
    NOT_FOUND (Alipay never took it: the same out_biz_no may be sent again).

    `fail_reason` / `error_code` explain FAIL and REFUND; `amount_fen` is what Alipay
    recorded, for the caller to compare with its own."""

    status: str
    fail_reason: str | None
    order_id: str | None
    error_code: str | None = None
    amount_fen: int | None = None


class AlipayTransferGateway(AlipayGateway):
    """An Alipay app that also pays out to Alipay accounts. Thread-safe."""

    def transfer(
        self,
        out_biz_no: str,
        amount_fen: int,
        payee_login_id: str,
        payee_name: str,
        title: str,
        remark: str = "",
    ) -> TransferResult:
        """Pay `amount_fen` to the Alipay account `payee_login_id` (e-mail or mobile) whose
        real name is `payee_name`; `title` (cut to 128 characters) shows in the payee's
        bill. Idempotent by `out_biz_no`: the same number with the same arguments pays at
        most once and answers the same order_id.

        Raises ValueError for an amount below 10 fen (Alipay's minimum) or an empty payee,
        name or title; GatewayRejected for a definite failure (nothing paid);
        GatewayUnavailable when the result is unknown.
        """

        if amount_fen < MIN_TRANSFER_FEN:
            raise ValueError(f"amount_fen must be at least {MIN_TRANSFER_FEN}, got {amount_fen}")
        if not out_biz_no or not payee_login_id or not payee_name or not title:
            raise ValueError("out_biz_no, payee_login_id, payee_name and title are required")
        payee = Participant()
        payee.identity = payee_login_id
        payee.identity_type = IDENTITY_TYPE
        payee.name = payee_name
        model = AlipayFundTransUniTransferModel()
        model.out_biz_no = out_biz_no
        model.trans_amount = fen_to_yuan(amount_fen)
        model.product_code = PRODUCT_CODE
        model.biz_scene = BIZ_SCENE
        model.order_title = title[:MAX_TITLE_CHARS]
        model.payee_info = payee
        if remark:
            model.remark = remark
        response = self._execute_transfer(
            AlipayFundTransUniTransferRequest(biz_model=model),
            AlipayFundTransUniTransferResponse(),
            TRANSFER_METHOD,
        )
        _check_echo(TRANSFER_METHOD, response.out_biz_no, out_biz_no)
        status = str(response.status or "")
        if status in (FAIL, REFUND):
            raise GatewayRejected(f"Alipay {TRANSFER_METHOD}: transfer {status}", code=status)
        if status not in (SUCCESS, DEALING) or not response.order_id:
            raise GatewayUnavailable(
                f"Alipay {TRANSFER_METHOD}: answer without order_id or with status {status!r}"
            )
        return TransferResult(
            order_id=str(response.order_id),
            pay_fund_order_id=_text(response.pay_fund_order_id),
            status=status,
            trans_date=_text(response.trans_date),
        )

    def query_transfer(self, out_biz_no: str) -> TransferQuery:
        """What became of the transfer numbered `out_biz_no` (status NOT_FOUND if Alipay
        never took it).

        Raises GatewayRejected or GatewayUnavailable (the state is still unknown).
        """

        model = AlipayFundTransCommonQueryModel()
        model.out_biz_no = out_biz_no
        model.product_code = PRODUCT_CODE
        model.biz_scene = BIZ_SCENE
        try:
            response = self._execute(
                AlipayFundTransCommonQueryRequest(biz_model=model),
                AlipayFundTransCommonQueryResponse(),
                QUERY_METHOD,
            )
        except GatewayRejected as exc:
            if exc.code == ORDER_NOT_EXIST:
                return TransferQuery(status=NOT_FOUND, fail_reason=None, order_id=None)
            raise
        _check_echo(QUERY_METHOD, response.out_biz_no, out_biz_no)
        status = str(response.status or "")
        if status in PENDING_QUERY_STATUSES:
            status = DEALING
        elif status == "CLOSED":
            status = FAIL
        elif status not in (SUCCESS, FAIL, REFUND):
            raise GatewayUnavailable(f"Alipay {QUERY_METHOD}: unknown status {status!r}")
        amount = response.trans_amount
        return TransferQuery(
            status=status,
            fail_reason=_text(response.fail_reason) or _text(response.sub_order_fail_reason),
            order_id=_text(response.order_id),
            error_code=_text(response.error_code) or _text(response.sub_order_error_code),
            amount_fen=_answer_fen(QUERY_METHOD, amount) if amount else None,
        )

    def _execute_transfer(self, request: Any, response: Any, method: str) -> Any:
        """`_execute`, with the refusals that leave the out_biz_no's fate unknown turned into
        GatewayUnavailable."""
        try:
            return self._execute(request, response, method)
        except GatewayRejected as exc:
            if exc.code in UNKNOWN_TRANSFER_SUB_CODES:
                raise GatewayUnavailable(exc.message, code=exc.code) from exc
            raise


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
