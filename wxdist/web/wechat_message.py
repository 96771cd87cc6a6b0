"""WeChat's message push, `/notify/wechat/message` (see `notifications.push`): GET is the
console's URL check, POST a signed, encrypted event. Refused pushes change nothing and are
answered with an error status; accepted ones are answered "success" after the commit."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from wxdist.notifications import push

log = logging.getLogger(__name__)

message_bp = Blueprint("wechat_message", __name__, url_prefix="/notify")


def _refused(exc: push.PushRefused) -> Response:
    log.warning("message push refused (%s): %s", exc.status, exc.reason)
    return Response(exc.reason, status=exc.status, mimetype="text/plain")


@message_bp.get("/wechat/message")
def verify() -> Response:
    try:
        echo = push.verify_url(request.args)
    except push.PushRefused as exc:
        return _refused(exc)
    return Response(echo, mimetype="text/plain")


@message_bp.post("/wechat/message")
def receive() -> Response:
    try:
        message = push.open_push(request.args, request.get_data(cache=False))
    except push.PushRefused as exc:
        return _refused(exc)
    push.handle(message)
    return Response("success", mimetype="text/plain")
