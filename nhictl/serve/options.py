"""The service's own options, handed from ``nhictl serve`` to each worker process as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

ENV = "NHICTL_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    """What ``nhictl serve`` was asked for, plus the limits every request is held to."""

    public_url: str  # where clients reach the service: endpoint URLs and the status list URI
    max_body_bytes: int = 64 * 1024
    request_timeout_seconds: float = 10.0
    rate_per_address: int = 600  # requests per minute from one client address
    rate_per_identity: int = 120  # token requests per minute for one authenticated agent
    access_log: bool = True  # a line per request (never a token); audit events are kept anyway
    status_list_id: str = "1"
    #: The folder (mode 0700) the workers share: rate-limit buckets and metrics. Made by
    #: ``nhictl serve`` for one run; empty for a service built in-process (one worker).
    state_dir: str = ""

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeOptions:
        raw = os.environ.get(ENV)
        if not raw:
            raise RuntimeError(f"{ENV} is not set: start the service with `nhictl serve`")
        return cls(**json.loads(raw))

    @property
    def status_list_uri(self) -> str:
        return f"{self.public_url}/statuslists/{self.status_list_id}"
