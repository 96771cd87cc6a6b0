"""Subscribe messages: what `wx.requestSubscribeMessage` returned, and the consents."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, RootModel, StringConstraints

from miniprogram_api.schemas.base import Out

TemplateResult = Annotated[str, StringConstraints(max_length=64)]


class SubscriptionsIn(RootModel[dict[str, TemplateResult]]):
    """What the success callback of `wx.requestSubscribeMessage` gave: each template id
    with "accept", "reject", "ban" or "filter" (its `errMsg` may be sent along and is
    ignored). Each accept allows one more message of that template."""

    root: dict[str, TemplateResult] = Field(
        examples=[{"errMsg": "requestSubscribeMessage:ok", "TEMPLATE_ID": "accept"}]
    )


class ConsentOut(Out):
    template_id: str
    kind: str = Field(description="the notice the template is used for")
    remaining: int = Field(description="messages of this template we may still send")


class ConsentList(Out):
    items: list[ConsentOut]
