"""``POST /tasks/{task}/complete`` and ``/fail``: the agent ends its own task, and the task's
credentials are revoked, as ``nhictl task complete|fail`` does.

The agent authenticates with its JWT-SVID as ``Authorization: Bearer`` or a client assertion in
a form body (SPIFFE or ``private_key_jwt``). Only a task whose every credential was issued to
this agent can be ended here; a task shared with other agents is an engineer's call (``nhictl
task complete``). ``/fail`` needs a ``reason`` (form field), as the CLI's ``--reason``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nhictl.core.credentials.checks import TASK_RE, check_text
from nhictl.core.errors import InputError
from nhictl.serve.agentauth import bearer_token, refusal, registered_agent
from nhictl.serve.audit import caller_actor, record
from nhictl.serve.context import ServiceContext
from nhictl.serve.oauth import NO_STORE, OAuthError, read_form, require

OUTCOMES = ("complete", "fail")


def end_task(
    ctx: ServiceContext,
    task: str,
    outcome: str,
    bearer: str | None,
    form: dict[str, str],
    address: str,
    url: str,
) -> dict[str, Any]:
    """Revoke the task's credentials for the calling agent, on the thread that owns the store."""
    agent: str | None = None
    try:
        try:
            check_text(task, TASK_RE, "task id")
        except InputError as exc:
            raise OAuthError("invalid_request", str(exc)) from None
        agent = registered_agent(ctx, bearer, form, url)
        reason = require(form, "reason") if outcome == "fail" else None
        service = ctx.credentials_as(caller_actor(agent, address))
        holders = {c.agent for c in service.list(task=task)}
        if not holders or agent not in holders:
            raise OAuthError("not_found", f"agent {agent!r} has no task {task!r}", status=404)
        if holders != {agent}:
            raise OAuthError(
                "access_denied",
                f"task {task!r} has credentials of other agents too: an engineer ends it "
                "(`nhictl task complete`)",
                status=403,
            )
        try:
            if reason is None:
                result = service.complete_task(task, allow_none=True)
            else:
                result = service.fail_task(task, reason, allow_none=True)
        except InputError as exc:
            raise OAuthError("invalid_request", str(exc)) from None
    except OAuthError as exc:
        ctx.metrics.decision("task", "refused")
        record(
            ctx.runtime.store,
            endpoint=f"task.{outcome}",
            caller=agent,
            address=address,
            outcome="denied",
            details={"task": task[:80], "error": exc.error, "description": exc.description},
        )
        raise
    ctx.metrics.decision("task", f"{outcome}d" if outcome == "complete" else "failed")
    return {
        "task": task,
        "outcome": "completed" if outcome == "complete" else "failed",
        "revoked": result.revoked,
        "jtis": result.jtis,
    }


async def _read(request: Request) -> dict[str, str]:
    """A form body, or none at all (a bearer alone authenticates ``/complete``)."""
    if "content-type" not in request.headers and not await request.body():
        return {}
    return await read_form(request)


async def endpoint(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    address = request.client.host if request.client else "unknown"
    task = request.path_params["task"]
    outcome = request.path_params["outcome"]
    if outcome not in OUTCOMES:
        return JSONResponse({"error": "not_found"}, status_code=404)
    try:
        bearer = bearer_token(request.headers)
        form = await _read(request)
        body = await ctx.core(
            lambda: end_task(ctx, task, outcome, bearer, form, address, str(request.url))
        )
    except OAuthError as exc:
        return refusal(exc)
    return JSONResponse(body, headers=dict(NO_STORE))
