"""The emulator's WSGI app: WeChat (mini-program, Pay v2, Pay v3 merchant transfers), the
Alipay gateway and Kuaidi100 tracking."""

from __future__ import annotations

import time

from flask import Flask, Response, abort, g, jsonify, request

from payments.emulator import alipay as alipay_emulator
from payments.emulator import kuaidi100 as kuaidi100_emulator
from payments.emulator import wechat as wechat_emulator
from payments.emulator import wechat_v3 as wechat_v3_emulator
from payments.emulator.faults import ArmedFault, Faults
from payments.emulator.settings import EmulatorSettings


def fault_key() -> str:
    """The key a fault is armed under: the Alipay method name, else the request path."""
    if request.path == "/gateway.do":
        return request.args.get("method", "") or request.form.get("method", "")
    return request.path


def create_emulator_app(settings: EmulatorSettings) -> Flask:
    """Build the emulator app; state lives in `app.extensions` and dies with the app."""
    app = Flask("wxdist-gateway-emulator")
    app.config["EMULATOR_SETTINGS"] = settings
    faults = Faults()
    app.extensions["emulator_faults"] = faults
    wechat_emulator.register(app, settings)
    wechat_v3_emulator.register(app, settings)
    alipay_emulator.register(app, settings)
    kuaidi100_emulator.register(app, settings)

    @app.before_request
    def inject_fault_before():  # type: ignore[no-untyped-def]
        if request.path.startswith("/_emulator/"):
            return None
        fault = faults.take(fault_key(), ("error500", "error500_after", "timeout"))
        if fault is None:
            return None
        if fault.mode == "error500":
            return Response("emulated 500", status=500)
        g.after_fault = fault
        return None

    @app.after_request
    def inject_fault_after(response: Response) -> Response:
        fault: ArmedFault | None = g.pop("after_fault", None)
        if fault is None:
            return response
        if fault.mode == "timeout":
            time.sleep(fault.seconds)
            return response
        return Response("emulated 500 after the work was done", status=500)

    @app.get("/_emulator/health")
    def health():  # type: ignore[no-untyped-def]
        return jsonify(ok=True)

    @app.post("/_emulator/faults")
    def arm_fault():  # type: ignore[no-untyped-def]
        """Body: {"key", "mode", "times"?, "seconds"?, "code"?, "message"?}."""
        body = request.get_json(silent=True) or {}
        try:
            faults.arm(
                str(body["key"]),
                ArmedFault(
                    mode=str(body["mode"]),
                    remaining=int(body.get("times", 1)),
                    seconds=float(body.get("seconds", 0)),
                    code=str(body.get("code", "SYSTEMERROR")),
                    message=str(body.get("message", "emulated failure")),
                ),
            )
        except (KeyError, ValueError) as exc:
            abort(400, str(exc))
        return jsonify(ok=True)

    @app.delete("/_emulator/faults")
    def clear_faults():  # type: ignore[no-untyped-def]
        faults.clear()
        return jsonify(ok=True)

    return app
