"""The ASGI application: routes, protections, and the per-process context (a factory, so each
Granian worker builds its own from ``NHICTL_SERVE_OPTIONS`` and the usual nhictl settings)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from nhictl.serve import health, introspect, metadata, register, revoke, statuslists, tasks, token
from nhictl.serve.context import ServiceContext
from nhictl.serve.options import ServeOptions
from nhictl.serve.protect import Protect


def build_app(ctx: ServiceContext) -> ASGIApp:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        ctx.close()

    app = Starlette(
        routes=[
            Route("/.well-known/oauth-authorization-server", metadata.metadata, methods=["GET"]),
            Route("/jwks", metadata.jwks, methods=["GET"]),
            Route("/token", token.endpoint, methods=["POST"]),
            Route("/introspect", introspect.endpoint, methods=["POST"]),
            Route("/revoke", revoke.endpoint, methods=["POST"]),
            Route("/statuslists/{list_id}", statuslists.endpoint, methods=["GET"]),
            Route("/healthz", health.healthz, methods=["GET"]),
            Route("/metrics", health.metrics, methods=["GET"]),
            # wave 2a: the agent's own endpoints
            Route("/register", register.endpoint, methods=["POST"]),
            Route("/tasks/{task}/{outcome}", tasks.endpoint, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    return Protect(app, ctx)


def create_app() -> ASGIApp:
    """Granian's factory: one context per worker process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return build_app(ServiceContext(ServeOptions.from_env()))
