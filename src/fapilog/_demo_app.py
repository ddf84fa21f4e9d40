"""The service ``fapilog demo`` runs: a small shop API logging through ``fapilog.fastapi``.

Each route shows one thing: a handler's records carrying the request's ids, a 404 logged as a WARNING, a
password masked by the preset's redaction, a slow dependency, an audit record, and a failure whose DEBUG
records (dropped at INFO) are replayed next to the ``request_failed`` record with its traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel

from fapilog._presets import settings_for_preset
from fapilog._version import __version__
from fapilog.fastapi import RequestLogger, get_request_logger, setup_logging

__all__ = ["TRAFFIC", "make_app"]

Log = Annotated[RequestLogger, Depends(get_request_logger)]

_ITEMS = {1: ("keyboard", 49.9), 2: ("mouse", 19.5), 3: ("monitor", 189.0)}

# The client's requests: (method, path, JSON body, user id header).
TRAFFIC: list[tuple[str, str, dict[str, Any] | None, str | None]] = [
    ("GET", "/healthz", None, None),
    ("POST", "/login", {"username": "alice", "password": "hunter2"}, None),
    ("GET", "/items/1", None, "u-alice"),
    ("GET", "/items/2", None, "u-alice"),
    ("GET", "/items/99", None, "u-alice"),
    ("GET", "/reports/daily", None, "u-bob"),
    ("PUT", "/users/u-bob/role", {"role": "editor"}, "u-admin"),
    ("POST", "/checkout", {"items": [1, 3]}, "u-alice"),
    ("GET", "/healthz", None, None),
]


class Login(BaseModel):
    username: str
    password: str


class Role(BaseModel):
    role: str


class Cart(BaseModel):
    items: list[int]


def make_app(sinks: Sequence[Any], *, slow_seconds: float = 0.3) -> FastAPI:
    """The demo app, logging into ``sinks`` through a pipeline of its own (the ``fastapi`` preset, with
    the environment's ``FAPILOG_*`` variables over it)."""
    app = FastAPI(
        title="fapilog demo shop",
        lifespan=setup_logging(
            settings=settings_for_preset("fastapi", {"service": "demo-shop", "version": __version__}),
            sinks=sinks,
            skip_paths=["/healthz"],
            user_id_header="X-User-ID",
            log_headers=False,
            debug_on_error=True,
        ),
    )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}  # a skipped path: no access record unless it fails

    @app.post("/login")
    async def login(body: Login, logger: Log) -> dict[str, str]:
        # The preset's credential redaction masks the password before any exporter sees the record.
        await logger.info("login attempt", username=body.username, password=body.password)
        return {"token": "t-0001"}

    @app.get("/items/{item_id}")
    async def item(item_id: int, logger: Log) -> dict[str, Any]:
        if item_id not in _ITEMS:
            await logger.warning("item not found", item_id=item_id)
            raise HTTPException(status_code=404, detail="no such item")
        name, price = _ITEMS[item_id]
        await logger.info("item loaded", item_id=item_id, name=name, price=price)
        return {"id": item_id, "name": name, "price": price}

    @app.get("/reports/daily")
    async def report(logger: Log) -> dict[str, int]:
        started = time.perf_counter()
        await asyncio.sleep(slow_seconds)  # a slow database, say
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        await logger.warning("slow dependency", dependency="reports-db", duration_ms=elapsed)
        return {"orders": 128}

    @app.put("/users/{user_id}/role")
    async def set_role(user_id: str, body: Role, logger: Log) -> dict[str, str]:
        await logger.audit("role changed", target=user_id, role=body.role)
        return {"user": user_id, "role": body.role}

    @app.post("/checkout")
    async def checkout(body: Cart, logger: Log) -> None:
        await logger.debug("cart loaded", items=body.items)  # kept back; shown because the request fails
        total = sum(_ITEMS[i][1] for i in body.items if i in _ITEMS)
        await logger.debug("charging card", amount=total, currency="EUR")
        raise ConnectionError("payment gateway unreachable")

    return app
