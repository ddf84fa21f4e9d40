"""Pieces shared by the network exporters' settings: JSON-or-mapping fields and ``FAPILOG_<SECTION>__*``."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

__all__ = ["JsonDict", "JsonList", "env_options", "validated"]

M = TypeVar("M", bound=BaseModel)


def _json_text(value: Any) -> Any:
    """A JSON string (as environment variables carry them) parsed; anything else as it is."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            if "," in text or text.isidentifier():  # a bare list: level,logger
                return [part.strip() for part in text.split(",") if part.strip()]
            raise
    return value


JsonDict = Annotated[dict[str, str], BeforeValidator(lambda v: _json_text(v) or {})]
JsonList = Annotated[list[str], BeforeValidator(lambda v: _json_text(v) or [])]


def env_options(prefix: str) -> dict[str, str]:
    """``FAPILOG_<SECTION>__NAME=value`` variables as ``{"name": "value"}``."""
    return {name[len(prefix) :].lower(): value for name, value in os.environ.items() if name.upper().startswith(prefix)}


def validated(model: type[M], sink: str, base: BaseModel | None, prefix: str, options: Any) -> M:
    """``model`` from ``options`` over ``base`` (a mounted settings section) or else the environment;
    a ``ValueError`` naming the sink when invalid."""
    try:
        start = base.model_dump(exclude_unset=True) if base is not None else env_options(prefix)
        return model(**{**start, **options})
    except ValidationError as exc:
        raise ValueError(f"sink {sink!r}: {exc}") from None
