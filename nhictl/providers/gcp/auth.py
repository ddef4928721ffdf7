"""Credentials for the GCP collector, through google-auth and nothing else.

- default: Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``, the gcloud ADC
  file, the metadata server on GCE / GKE / Cloud Run), as ``google.auth.default`` finds them;
- a credentials file (``--credentials-file``): a service-account key, an authorized-user file,
  or a workload identity federation (external_account) configuration, each loaded by its type;
- either one, then impersonation of a service account (``--impersonate-service-account``):
  short-lived tokens from iamcredentials ``generateAccessToken``; the caller needs
  ``roles/iam.serviceAccountTokenCreator`` on that account, and no key ever leaves Google.

The scope is ``cloud-platform``: the IAM, Recommender and Policy Analyzer APIs accept no
narrower one. What the identity can do is bounded by its IAM roles (read-only roles: see
docs/audit-creep.md); the collector itself only ever reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nhictl.core.errors import InputError, ProviderError
from nhictl.providers.gcp.endpoints import GcpEndpoints
from nhictl.providers.rest import one_line

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
TOKEN_LIFETIME_S = 3600
ADC_HINT = (
    "run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, "
    "or pass --credentials-file"
)


def auth_message(exc: BaseException) -> str:
    """google-auth errors carry (message, response) tuples; keep the message."""
    first = exc.args[0] if exc.args else exc
    return one_line(str(first)) or type(exc).__name__


MAX_CREDENTIALS_FILE = 64 * 1024


def _file_credentials(path: Path) -> Credentials:
    """A credentials file, loaded by its declared type only.

    google-auth warns against its generic loader: a configuration from elsewhere could name an
    executable or a URL to fetch. Service-account keys, authorized-user files and workload
    identity federation configurations (file / URL / AWS sources) are loaded by their own
    loaders; executable-sourced configurations only through ADC (GOOGLE_APPLICATION_CREDENTIALS,
    where google-auth's own GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES gate applies).
    """
    import json

    from nhictl.core.inputfile import read_input

    raw = read_input(path, max_bytes=MAX_CREDENTIALS_FILE, what="credentials file")
    try:
        info = json.loads(raw)
    except ValueError:
        raise InputError(f"{path}: not a JSON credentials file") from None
    kind = info.get("type") if isinstance(info, dict) else None
    scopes = list(SCOPES)
    if kind == "service_account":
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_info(info, scopes=scopes)  # type: ignore[no-untyped-call,no-any-return]
    if kind == "authorized_user":
        from google.oauth2 import credentials

        return credentials.Credentials.from_authorized_user_info(info, scopes=scopes)  # type: ignore[no-untyped-call,no-any-return]
    if kind == "external_account":
        source = info.get("credential_source") or {}
        if isinstance(source, dict) and source.get("environment_id", "").startswith("aws"):
            from google.auth import aws

            return aws.Credentials.from_info(info, scopes=scopes)  # type: ignore[no-untyped-call,no-any-return]
        if isinstance(source, dict) and ("file" in source or "url" in source):
            from google.auth import identity_pool

            return identity_pool.Credentials.from_info(info, scopes=scopes)  # type: ignore[no-untyped-call,no-any-return]
    raise InputError(
        f"{path}: credentials of type {kind!r} are not read from --credentials-file",
        hint="service_account, authorized_user and external_account (file, url, aws) are; "
        "for others set GOOGLE_APPLICATION_CREDENTIALS instead",
    )


def source_credentials(credentials_file: Path | None) -> Credentials:
    """ADC, or the given credentials file."""
    try:
        import google.auth
        from google.auth.exceptions import GoogleAuthError
    except ImportError:  # pragma: no cover - depends on the install
        raise ProviderError(
            "live GCP collection needs google-auth", hint="pip install 'nhictl[gcp]'"
        ) from None
    try:
        if credentials_file is not None:
            return _file_credentials(credentials_file)
        creds, _ = google.auth.default(scopes=list(SCOPES))
    except (GoogleAuthError, ValueError) as exc:
        where = f"{credentials_file}: " if credentials_file else ""
        raise ProviderError(f"GCP credentials: {where}{auth_message(exc)}", hint=ADC_HINT) from None
    return creds


def universe_of(creds: Credentials) -> str:
    return str(getattr(creds, "universe_domain", "") or "googleapis.com")


def collector_credentials(
    source: Credentials,
    endpoints: GcpEndpoints,
    impersonate: str | None = None,
    quota_project: str | None = None,
) -> Credentials:
    """``source``, or a service account impersonated with it; with a quota project if asked."""
    creds = source
    if impersonate:
        from google.auth import impersonated_credentials

        creds = impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
            source_credentials=source,
            target_principal=impersonate,
            target_scopes=list(SCOPES),
            lifetime=TOKEN_LIFETIME_S,
            iam_endpoint_override=endpoints.generate_access_token_url(impersonate),
        )
    if quota_project:
        # user credentials bill Recommender / Policy Analyzer calls to this project
        # (x-goog-user-project); service accounts bill their own project.
        with_quota = getattr(creds, "with_quota_project", None)
        if with_quota is not None:
            creds = with_quota(quota_project)
    return creds
