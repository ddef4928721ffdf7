"""The optional ``provider-operations.json`` part of ``nhictl collect azure``: Azure's full
operation list, so the offline audit expands ``*``, ``Microsoft.Compute/*`` and ``*/read`` over
every operation Azure has (the shipped catalog knows only those the built-in roles name).

ARM ``GET /providers/Microsoft.Authorization/providerOperations?$expand=resourceTypes``
(api 2022-04-01, tenant level, paged by ``nextLink``), written as ``az provider operation list
-o json`` prints it (`nhictl.providers.azure.operations.az_provider`). Any signed-in identity
may read it (``Microsoft.Authorization/providerOperations/read`` is in every role, Reader
included). A failure leaves the file out and is listed in ``notes.json``, like the other
optional parts: the audit then says its operation list is partial.
"""

from __future__ import annotations

from nhictl.providers.azure.operations import API, FILE, az_provider, count_operations
from nhictl.providers.rawdir import CollectResult, OutputDir, Skipped
from nhictl.providers.rest import ApiError, RestClient

PERMISSION = "Microsoft.Authorization/providerOperations/read (Reader)"


def collect_provider_operations(
    arm: RestClient, arm_url: str, out: OutputDir, result: CollectResult
) -> None:
    """Write ``provider-operations.json`` (every page), or record why it could not be read."""
    url = f"{arm_url}/providers/Microsoft.Authorization/providerOperations"
    try:
        raw = arm.pages_by_link(url, params={"api-version": API, "$expand": "resourceTypes"})
    except ApiError as exc:
        reason = f"ARM providerOperations: {exc}"
        if exc.status == 403:
            reason += f" (needs {PERMISSION})"
        result.skipped.append(Skipped(FILE, exc.status, reason))
        return
    providers = [az_provider(p) for p in raw]
    out.write_json(FILE, providers)
    result.counts["providerOperations"] = count_operations(providers)
