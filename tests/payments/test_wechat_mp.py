"""MiniProgramClient against the emulator, through wechatpy and real HTTP."""

from __future__ import annotations

import io
from typing import Any

import pytest
import qrcode
import requests
from PIL import Image
from wechatpy.session.memorystorage import MemoryStorage

from payments.errors import GatewayRejected, GatewayUnavailable
from payments.wechat_mp import LoginSession, MiniProgramClient
from tests.payments.conftest import arm_fault, stats


@pytest.fixture
def client(cfg: dict[str, Any]) -> MiniProgramClient:
    return MiniProgramClient(cfg, MemoryStorage())


def test_login_code_maps_to_a_stable_openid(client: MiniProgramClient) -> None:
    first = client.code_to_session("code-alice")
    again = client.code_to_session("code-alice")
    other = client.code_to_session("code-bob")

    assert first.openid == again.openid
    assert first.openid.startswith("o") and len(first.openid) == 28
    assert first.unionid and first.unionid == again.unionid
    assert first.session_key != again.session_key  # a fresh session key each login
    assert other.openid != first.openid


def test_session_key_is_not_in_the_repr(client: MiniProgramClient) -> None:
    session = client.code_to_session("code-alice")
    assert isinstance(session, LoginSession)
    assert session.session_key not in repr(session)


@pytest.mark.parametrize("code", ["invalid-code", ""])
def test_invalid_code_is_rejected(client: MiniProgramClient, code: str) -> None:
    with pytest.raises(GatewayRejected) as err:
        client.code_to_session(code)
    assert err.value.code == "40029"


def test_wrong_secret_is_rejected(cfg: dict[str, Any]) -> None:
    cfg["WECHAT_APPSECRET"] = "not-the-secret"
    with pytest.raises(GatewayRejected) as err:
        MiniProgramClient(cfg, MemoryStorage()).code_to_session("code-alice")
    assert err.value.code == "40125"


def test_access_token_is_fetched_once_and_cached(emulator: str, client: MiniProgramClient) -> None:
    for i in range(3):
        client.code_to_session(f"code-{i}")
    client.get_unlimited_code("s=1")
    client.get_unlimited_code("s=2")

    counts = stats(emulator)
    assert counts["token_fetches"] == 1
    assert counts["jscode2session"] == 3
    assert counts["wxacode"] == 2


def test_token_is_shared_through_the_session_storage(emulator: str, cfg: dict[str, Any]) -> None:
    storage = MemoryStorage()
    MiniProgramClient(cfg, storage).get_unlimited_code("s=1")
    MiniProgramClient(cfg, storage).get_unlimited_code("s=2")
    assert stats(emulator)["token_fetches"] == 1


def test_expired_token_is_refreshed_once(emulator: str, client: MiniProgramClient) -> None:
    client.get_unlimited_code("s=1")
    requests.post(f"{emulator}/_emulator/wechat/expire-tokens", timeout=5).raise_for_status()

    png = client.get_unlimited_code("s=1")

    assert png.startswith(b"\x89PNG")
    counts = stats(emulator)
    assert counts["token_fetches"] == 2
    assert counts["wxacode"] == 3  # ok, rejected (expired), retried ok


def test_token_that_keeps_failing_is_retried_only_once(
    emulator: str, client: MiniProgramClient
) -> None:
    # Every call answers "invalid access_token" even with a fresh token.
    arm_fault(emulator, "/wxa/getwxacodeunlimit", "fail", times=50, code="40001")

    with pytest.raises(GatewayRejected) as err:
        client.get_unlimited_code("s=1")

    assert err.value.code == "40001"
    counts = stats(emulator)
    assert counts["wxacode"] == 2
    assert counts["token_fetches"] == 2


def _modules(png: bytes, n: int) -> list[list[bool]]:
    """Sample a square QR image at the centre of each of its n×n modules (dark = True)."""
    image = Image.open(io.BytesIO(png)).convert("L")
    size = image.width
    return [
        [
            image.getpixel((int((x + 0.5) * size / n), int((y + 0.5) * size / n))) < 128
            for x in range(n)
        ]
        for y in range(n)
    ]


def test_unlimited_code_is_a_png_encoding_page_and_scene(
    emulator: str, client: MiniProgramClient
) -> None:
    png = client.get_unlimited_code("u=42&c=7", page="pages/goods/detail", width=430)

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (430, 430)
    expected = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    expected.add_data("pages/goods/detail?scene=u=42&c=7")
    expected.make(fit=True)
    matrix = expected.get_matrix()
    assert _modules(png, len(matrix)) == matrix


def test_unlimited_code_default_page_width_and_counts(
    emulator: str, client: MiniProgramClient
) -> None:
    png = client.get_unlimited_code("s=1", width=600, env_version="trial")
    client.get_unlimited_code("s=1", width=600, env_version="trial")
    client.get_unlimited_code("s=1")

    assert Image.open(io.BytesIO(png)).size == (600, 600)
    by_key = stats(emulator)["wxacode_by_key"]
    assert by_key == {"s=1|pages/index/index|trial": 2, "s=1|pages/index/index|release": 1}


@pytest.mark.parametrize("scene", ["", "x" * 33])
def test_bad_scene_raises_instead_of_returning_json(client: MiniProgramClient, scene: str) -> None:
    with pytest.raises(GatewayRejected) as err:
        client.get_unlimited_code(scene)
    assert err.value.code == "40169"


def test_http_500_is_unavailable(emulator: str, client: MiniProgramClient) -> None:
    arm_fault(emulator, "/sns/jscode2session", "error500")
    with pytest.raises(GatewayUnavailable):
        client.code_to_session("code-alice")


def test_timeout_is_unavailable(emulator: str, cfg: dict[str, Any]) -> None:
    cfg["GATEWAY_TIMEOUT_SECONDS"] = 1
    client = MiniProgramClient(cfg, MemoryStorage())
    client.get_unlimited_code("warm-up")  # the token fetch is not what times out
    arm_fault(emulator, "/wxa/getwxacodeunlimit", "timeout", seconds=2)
    with pytest.raises(GatewayUnavailable):
        client.get_unlimited_code("s=1")


def test_unreachable_gateway_is_unavailable(cfg: dict[str, Any]) -> None:
    cfg["EMULATOR_URL"] = "http://127.0.0.1:9"  # discard port: connection refused
    with pytest.raises(GatewayUnavailable):
        MiniProgramClient(cfg, MemoryStorage()).code_to_session("code-alice")


def test_token_endpoint_speaks_the_official_errors(emulator: str, cfg: dict[str, Any]) -> None:
    url = f"{emulator}/cgi-bin/token"
    good = {"grant_type": "client_credential", "appid": cfg["WECHAT_APPID"]}
    ok = requests.get(url, params={**good, "secret": cfg["WECHAT_APPSECRET"]}, timeout=5).json()
    assert ok["expires_in"] == 7200 and ok["access_token"]
    bad_secret = requests.get(url, params={**good, "secret": "nope"}, timeout=5).json()
    assert bad_secret["errcode"] == 40125
    bad_appid = requests.get(
        url, params={**good, "appid": "wx0", "secret": cfg["WECHAT_APPSECRET"]}, timeout=5
    ).json()
    assert bad_appid["errcode"] == 40013
