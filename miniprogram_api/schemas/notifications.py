"""Subscribe messages: what `wx.requestSubscribeMessage` returned, and the consents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from miniprogram_api.schemas.base import Out

MAX_TEMPLATES = 20  # WeChat asks for at most 3 per call; a little slack, no more

TemplateResult = Literal["accept", "reject", "ban", "filter"]


class SubscriptionsIn(BaseModel):
    """What the success callback of `wx.requestSubscribeMessage` gave: each template id
    with "accept", "reject", "ban" or "filter" (its `errMsg` may be sent along and is
    ignored). Each accept allows one more message of that template; a template id that is
    not one of this store's notices is answered 404 `unknown_template`, naming it."""

    model_config = ConfigDict(
        extra="allow",
        strict=True,
        json_schema_extra={
            "maxProperties": MAX_TEMPLATES + 1,
            "examples": [{"errMsg": "requestSubscribeMessage:ok", "TEMPLATE_ID": "accept"}],
        },
    )
    __pydantic_extra__: dict[str, TemplateResult] = Field(init=False)

    errMsg: str | None = Field(None, max_length=128)

    @model_validator(mode="after")
    def _not_too_many(self) -> SubscriptionsIn:
        if len(self.results()) > MAX_TEMPLATES:
            raise ValueError(f"at most {MAX_TEMPLATES} templates")
        return self

    def results(self) -> dict[str, str]:
        """{template id: result}."""
        return dict(self.__pydantic_extra__ or {})


class ConsentOut(Out):
    template_id: str
    kind: str = Field(description="the notice the template is used for")
    remaining: int = Field(description="messages of this template we may still send")


class ConsentList(Out):
    items: list[ConsentOut]
