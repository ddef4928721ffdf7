"""The optional ``predefined-roles.json`` part of ``nhictl collect gcp --roles``: every
predefined role as Google defines it today, read by the offline audit in place of the shipped
catalog's copies (`nhictl.providers.gcp.predefined`).

IAM ``GET v1/roles?view=FULL&pageSize=1000`` (``roles.list``; 1,000 is its largest page),
every page, written as the list of ``Role`` resources ``gcloud iam roles list --format=json``
prints (deleted roles are not listed: ``showDeleted`` is false by default), with
``includedPermissions`` because of the FULL view. About 2,400 roles and 5 MB, so it is off by
default. Listing predefined roles needs no permission on any resource. A failure leaves the
file out and is listed in ``notes.json``, like the other optional parts.
"""

from __future__ import annotations

from nhictl.providers.gcp.predefined import FILE
from nhictl.providers.rawdir import CollectResult, OutputDir, Skipped
from nhictl.providers.rest import ApiError, RestClient

PAGE_SIZE = 1000


def collect_predefined_roles(
    client: RestClient, iam_url: str, out: OutputDir, result: CollectResult
) -> None:
    """Write ``predefined-roles.json``, or record why it could not be read."""
    try:
        roles = client.pages_by_token(
            f"{iam_url}/v1/roles", "roles", params={"view": "FULL", "pageSize": PAGE_SIZE}
        )
    except ApiError as exc:
        reason = f"roles.list (predefined roles): {exc}"
        if exc.status == 403:
            reason += " (the IAM API may be disabled in the quota project)"
        result.skipped.append(Skipped(FILE, exc.status, reason))
        return
    out.write_json(FILE, roles)
    result.counts["predefinedRoles"] = len(roles)
