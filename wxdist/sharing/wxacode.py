"""Mini-program codes (`getwxacodeunlimit`), fetched once per (scene, page, env_version)
and kept in the media storage.

A request for a code reads the storage; only a miss takes the key's lock (Redis when
`REDIS_URL` is set, so every process shares it), reads again, and calls WeChat. The access
token is shared the same way (`wxdist.core.gateways.token_storage`) and a token error is
refreshed exactly once (`payments.wechat_mp.MiniProgramClient`). WeChat's codes are free
but rate-limited (and `getwxacodeunlimit` is the only kind without a lifetime cap), so a
second request for the same code never calls it again, from any process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from payments.errors import GatewayRejected, GatewayUnavailable
from wxdist.core.errors import GatewayFailed
from wxdist.core.gateways import gateways
from wxdist.core.media import hashed_key, key_lock, storage
from wxdist.models.share import SCENE_MAX

log = logging.getLogger(__name__)

WIDTH = 430  # WeChat's default; posters scale it
# What WeChat accepts in a scene besides letters and digits.
SCENE_PUNCTUATION = set("!#$&'()*+,/:;=?@-._~")


@dataclass(frozen=True)
class CodeSpec:
    scene: str
    page: str
    env_version: str
    width: int = WIDTH

    @property
    def key(self) -> str:
        return hashed_key(
            "wxacode", f"{self.scene}|{self.page}|{self.env_version}|{self.width}", "png"
        )


def spec_for(scene: str, page: str | None = None, env_version: str | None = None) -> CodeSpec:
    """The code for `scene` on the configured page and environment. Raises ValueError for a
    scene WeChat would refuse (empty, over 32 characters, or odd characters)."""
    if not 1 <= len(scene) <= SCENE_MAX or not all(
        c.isascii() and (c.isalnum() or c in SCENE_PUNCTUATION) for c in scene
    ):
        raise ValueError(f"a scene is 1..{SCENE_MAX} URL-safe characters: {scene!r}")
    config = current_app.config
    return CodeSpec(
        scene=scene,
        page=page or config["MINIPROGRAM_PAGE"],
        env_version=env_version or config["MINIPROGRAM_ENV_VERSION"],
    )


def get_code(spec: CodeSpec) -> bytes:
    """PNG bytes of the code, from the storage or (once) from WeChat.

    Raises GatewayFailed (502) when WeChat refuses or cannot be reached; nothing is stored
    then, so the next request tries again.
    """
    store = storage()
    png = store.get(spec.key)
    if png is not None:
        return png
    wait = 2.0 * float(current_app.config["GATEWAY_TIMEOUT_SECONDS"]) + 5.0
    with key_lock(spec.key, wait_seconds=wait) as locked:
        png = store.get(spec.key)  # the holder before us may have stored it
        if png is not None:
            return png
        if not locked:
            log.warning("lock of %s not had in %.0fs; fetching anyway", spec.key, wait)
        png = _fetch(spec)
        store.put(spec.key, png)
        return png


def _fetch(spec: CodeSpec) -> bytes:
    try:
        return gateways().miniprogram.get_unlimited_code(
            spec.scene,
            page=spec.page,
            width=spec.width,
            env_version=spec.env_version,
            # A page is checked against the released version only; trial and develop
            # builds may have pages the release lacks.
            check_path=spec.env_version == "release",
        )
    except GatewayRejected as exc:
        raise GatewayFailed(
            _(
                "WeChat refused the mini-program code (%(gateway_code)s: %(message)s)",
                gateway_code=exc.code,
                message=exc.message,
            )
        ) from None
    except GatewayUnavailable:
        raise GatewayFailed(_("WeChat did not answer; try again")) from None
