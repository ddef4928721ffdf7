"""Where the GCP collector sends its calls: the public Google APIs unless told otherwise.

Each service is ``https://<service>.<universe domain>`` (``googleapis.com``; the credentials'
own universe domain for sovereign / Trusted Partner clouds). Overrides, for tests, proxies and
private endpoints, in this order:

1. ``GcpCollectOptions.endpoints``: ``{"iam": URL, ...}``, or ``{"*": URL}`` for every service;
2. ``NHICTL_GCP_<SERVICE>_URL`` (e.g. ``NHICTL_GCP_IAM_URL``), then ``NHICTL_GCP_API_BASE`` (every
   service on one base URL: the paths never collide).

Only https URLs are accepted. The OAuth token endpoint is not set here: it comes from the
credentials (``token_uri`` of a key file, the metadata server, ...), as google-auth does it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from nhictl.providers.rest import base_url

SERVICES = ("cloudresourcemanager", "iam", "iamcredentials", "recommender", "policyanalyzer")
ENV_BASE = "NHICTL_GCP_API_BASE"
DEFAULT_UNIVERSE = "googleapis.com"


def env_name(service: str) -> str:
    return f"NHICTL_GCP_{service.upper()}_URL"


@dataclass(frozen=True, slots=True)
class GcpEndpoints:
    cloudresourcemanager: str
    iam: str
    iamcredentials: str
    recommender: str
    policyanalyzer: str

    @classmethod
    def resolve(
        cls,
        universe_domain: str = DEFAULT_UNIVERSE,
        overrides: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> GcpEndpoints:
        env = os.environ if environ is None else environ
        given = dict(overrides or {})
        unknown = sorted(set(given) - {*SERVICES, "*"})
        if unknown:
            from nhictl.core.errors import ConfigError

            raise ConfigError(f"GCP endpoints: unknown service {unknown[0]!r}")
        shared = given.get("*") or env.get(ENV_BASE)
        urls: dict[str, str] = {}
        for service in SERVICES:
            chosen = given.get(service) or env.get(env_name(service)) or shared
            urls[service] = (
                base_url(chosen, f"endpoint for {service}")
                if chosen
                else f"https://{service}.{universe_domain or DEFAULT_UNIVERSE}"
            )
        return cls(**urls)

    def generate_access_token_url(self, email: str) -> str:
        """iamcredentials generateAccessToken, as google-auth's impersonation calls it."""
        return f"{self.iamcredentials}/v1/projects/-/serviceAccounts/{email}:generateAccessToken"
