"""Credentials for the Azure collector, through azure-identity, and the bearer header they give.

Which credential (the first that applies):

1. a federated token file (``--federated-token-file``, or ``AZURE_FEDERATED_TOKEN_FILE`` through
   DefaultAzureCredential): ``WorkloadIdentityCredential``, workload identity federation (GitHub
   Actions, GKE, EKS, AKS ... tokens exchanged for an Entra token; no secret at all);
2. a certificate (``--certificate PEM``): ``CertificateCredential``;
3. a client secret (library option only; the CLI takes it from ``AZURE_CLIENT_SECRET`` through
   DefaultAzureCredential, never from a flag): ``ClientSecretCredential``;
4. otherwise ``DefaultAzureCredential``: environment, workload identity, managed identity,
   Azure CLI / PowerShell / azd sign-in.

HTTP: the collector calls ARM and Graph with plain ``requests`` and this module's `BearerAuth`,
not azure-core's pipeline. requests is installed anyway (azure-core's own transport, and
google-auth's), and so both clouds share one retry / paging implementation
(`nhictl.providers.rest`) with the same, tested, throttling behaviour.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nhictl.core.errors import InputError, ProviderError
from nhictl.providers.azure.endpoints import AzureEndpoints
from nhictl.providers.rest import one_line

if TYPE_CHECKING:
    import requests
    from azure.core.credentials import AccessToken, TokenCredential

REFRESH_MARGIN_S = 300  # a token this close to expiry is renewed before use


@dataclass(slots=True)
class AzureAuth:
    """Who the collector signs in as. Secrets are never printed (repr hides them)."""

    tenant: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    certificate: Path | None = None
    certificate_password: str | None = None
    federated_token_file: Path | None = None

    def __repr__(self) -> str:
        return (
            f"AzureAuth(tenant={self.tenant!r}, client_id={self.client_id!r}, "
            f"certificate={self.certificate!r}, federated_token_file={self.federated_token_file!r})"
        )


def auth_message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return one_line(text)


def make_credential(auth: AzureAuth, endpoints: AzureEndpoints) -> TokenCredential:
    try:
        from azure import identity
    except ImportError:  # pragma: no cover - depends on the install
        raise ProviderError(
            "live Azure collection needs azure-identity", hint="pip install 'nhictl[azure]'"
        ) from None
    common: dict[str, Any] = {"authority": endpoints.authority}
    if endpoints.disable_instance_discovery:
        common["disable_instance_discovery"] = True
    explicit = auth.federated_token_file or auth.certificate or auth.client_secret
    if explicit and not (auth.tenant and auth.client_id):
        raise InputError(
            "Azure: a certificate, secret or federated token needs --tenant and --client-id"
        )
    try:
        if auth.federated_token_file is not None:
            return identity.WorkloadIdentityCredential(
                tenant_id=auth.tenant,
                client_id=auth.client_id,
                token_file_path=str(auth.federated_token_file),
                **common,
            )
        if auth.certificate is not None:
            return identity.CertificateCredential(
                str(auth.tenant),
                str(auth.client_id),
                certificate_path=str(auth.certificate),
                password=auth.certificate_password,
                **common,
            )
        if auth.client_secret:
            return identity.ClientSecretCredential(
                str(auth.tenant), str(auth.client_id), auth.client_secret, **common
            )
        if auth.tenant:
            common["additionally_allowed_tenants"] = [auth.tenant]
        return identity.DefaultAzureCredential(**common)
    except (ValueError, OSError) as exc:  # unreadable certificate, malformed ids
        raise ProviderError(f"Azure credentials: {auth_message(exc)}") from None


class BearerAuth:
    """A requests ``auth`` callable: ``Authorization: Bearer`` for one scope, renewed in time."""

    def __init__(self, credential: TokenCredential, scope: str, tenant: str | None) -> None:
        self._credential = credential
        self._scope = scope
        self._tenant = tenant
        self._lock = threading.Lock()
        self._token: AccessToken | None = None

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._token.expires_on - REFRESH_MARGIN_S < time.time():
                if self._tenant:
                    self._token = self._credential.get_token(self._scope, tenant_id=self._tenant)
                else:
                    self._token = self._credential.get_token(self._scope)
            return self._token.token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


def session_factory(bearer: BearerAuth) -> Any:
    """Sessions for `RestClient`, each sending ``bearer``'s token."""
    import requests

    def make() -> requests.Session:
        session = requests.Session()
        session.auth = bearer
        session.headers["User-Agent"] = "nhictl-collect"
        return session

    return make
