"""``GET /statuslists/{id}``: the signed Token Status List of the tokens this service mints
(the ``status-list publish`` format), cacheable for its ``ttl``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nhictl.core.credentials import DEFAULT_STATUS_LIST_TTL
from nhictl.serve.context import ServiceContext

MEDIA_TYPE = "application/statuslist+jwt"


async def endpoint(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    if request.path_params["list_id"] != ctx.options.status_list_id:
        return JSONResponse({"error": "not_found"}, status_code=404)
    token = await ctx.core(ctx.credentials.status_list_token)
    ttl = int(DEFAULT_STATUS_LIST_TTL.total_seconds())
    return Response(token, media_type=MEDIA_TYPE, headers={"Cache-Control": f"max-age={ttl}"})
