"""``GET /healthz`` (the store answers) and ``GET /metrics`` (Prometheus text)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nhictl.serve.context import ServiceContext


async def healthz(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    await ctx.core(lambda: ctx.runtime.store.read_one("SELECT 1"))
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    return Response(ctx.metrics.text(), media_type="text/plain; version=0.0.4; charset=utf-8")
