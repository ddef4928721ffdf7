"""Where the Azure collector authenticates and calls: Azure public cloud unless told otherwise.

Three endpoints, each resolved option > environment > cloud default:

- authority (Entra ID): ``authority_host``, then ``AZURE_AUTHORITY_HOST`` (azure-identity's
  own variable), then the cloud's: login.microsoftonline.com (public),
  login.microsoftonline.us (usgov), login.chinacloudapi.cn (china);
- ARM: ``arm_url``, then ``NHICTL_AZURE_ARM_URL``, then https://management.azure.com,
  https://management.usgovcloudapi.net, https://management.chinacloudapi.cn;
- Microsoft Graph: ``graph_url``, then ``NHICTL_AZURE_GRAPH_URL``, then
  https://graph.microsoft.com, https://graph.microsoft.us,
  https://microsoftgraph.chinacloudapi.cn.

The cloud is ``cloud`` or ``NHICTL_AZURE_CLOUD`` (``public`` by default). Token scopes follow
the API base (``<base>/.default``), as Entra ID names its resources. An authority host that is
not one of these clouds' (Azure Stack, tests on loopback) is used as given, with MSAL's instance
discovery off (``disable_instance_discovery``): that discovery would otherwise ask
login.microsoftonline.com whether the host is a known authority.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from nhictl.core.errors import ConfigError
from nhictl.providers.rest import base_url


@dataclass(frozen=True, slots=True)
class AzureCloud:
    authority_host: str
    arm: str
    graph: str


CLOUDS = {
    "public": AzureCloud(
        "login.microsoftonline.com", "https://management.azure.com", "https://graph.microsoft.com"
    ),
    "usgov": AzureCloud(
        "login.microsoftonline.us",
        "https://management.usgovcloudapi.net",
        "https://graph.microsoft.us",
    ),
    "china": AzureCloud(
        "login.chinacloudapi.cn",
        "https://management.chinacloudapi.cn",
        "https://microsoftgraph.chinacloudapi.cn",
    ),
}
KNOWN_AUTHORITY_HOSTS = frozenset(c.authority_host for c in CLOUDS.values())
ENV_CLOUD = "NHICTL_AZURE_CLOUD"
ENV_ARM = "NHICTL_AZURE_ARM_URL"
ENV_GRAPH = "NHICTL_AZURE_GRAPH_URL"
ENV_AUTHORITY = "AZURE_AUTHORITY_HOST"


@dataclass(frozen=True, slots=True)
class AzureEndpoints:
    authority: str  # https://host, as azure-identity's ``authority`` keyword takes it
    arm: str
    graph: str
    disable_instance_discovery: bool

    @property
    def arm_scope(self) -> str:
        return f"{self.arm}/.default"

    @property
    def graph_scope(self) -> str:
        return f"{self.graph}/.default"

    @classmethod
    def resolve(
        cls,
        cloud: str | None = None,
        authority_host: str | None = None,
        arm_url: str | None = None,
        graph_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> AzureEndpoints:
        env = os.environ if environ is None else environ
        name = (cloud or env.get(ENV_CLOUD) or "public").lower()
        if name not in CLOUDS:
            raise ConfigError(
                f"Azure cloud: unknown {name!r}", hint=f"one of {', '.join(sorted(CLOUDS))}"
            )
        known = CLOUDS[name]
        host = authority_host or env.get(ENV_AUTHORITY) or known.authority_host
        authority = base_url(host if "://" in host else f"https://{host}", "authority host")
        return cls(
            authority=authority,
            arm=base_url(arm_url or env.get(ENV_ARM) or known.arm, "ARM URL"),
            graph=base_url(graph_url or env.get(ENV_GRAPH) or known.graph, "Graph URL"),
            disable_instance_discovery=(urlsplit(authority).hostname or "")
            not in KNOWN_AUTHORITY_HOSTS,
        )
