"""The bookkeeping both live collectors (GCP, Azure) share: a failed required call stops the run
with a one-line `ProviderError` and a hint; a failed optional call is noted and left out.

Each cloud's run subclasses `CollectRun` with its name and its `Hints`, and keeps its own calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from nhictl.core.errors import ProviderError
from nhictl.providers.rawdir import CollectResult, OutputDir, Skipped
from nhictl.providers.rest import ApiError, Progress

DOCS = "see docs/audit-creep.md, 'Live collection (GCP, Azure)'"


@dataclass(frozen=True, slots=True)
class Hints:
    """What to tell the user after a failed call, by HTTP status; the rest is the same on both
    clouds (no answer: the network; anything else: the docs)."""

    unauthorized: str  # 401
    forbidden: str  # 403; "{permission}" stands for the permission the call needs
    not_found: str  # 404

    def __call__(self, exc: ApiError, permission: str) -> str:
        if exc.status == 401:
            return self.unauthorized
        if exc.status == 403:
            return self.forbidden.replace("{permission}", permission)
        if exc.status == 404:
            return self.not_found
        if exc.status == 0:
            return "check the network, proxy and TLS settings (REQUESTS_CA_BUNDLE)"
        return DOCS


class CollectRun:
    """One collection into ``out``; what it skipped and counted goes to ``result``."""

    CLOUD: ClassVar[str]  # the first word of every error: "GCP", "Azure"
    HINTS: ClassVar[Hints]

    def __init__(self, out: OutputDir, result: CollectResult, progress: Progress | None) -> None:
        self.out = out
        self.result = result
        self.progress = progress

    def call_name(self, what: str) -> str:
        """How errors name a call (GCP adds the project)."""
        return f"{self.CLOUD} {what}"

    def required(self, what: str, permission: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ApiError as exc:
            raise ProviderError(
                f"{self.call_name(what)}: {exc}", hint=self.HINTS(exc, permission)
            ) from None

    def optional(self, file: str, what: str, permission: str, call: Callable[[], Any]) -> Any:
        """``call()``, or None when it failed: then ``file`` is listed as skipped, with why."""
        try:
            return call()
        except ApiError as exc:
            reason = f"{what}: {exc}"
            if exc.status == 403:
                reason += f" (needs {permission})"
            self.result.skipped.append(Skipped(file, exc.status, reason))
            return None

    def step(self, stage: str, done: int = 1, total: int = 1) -> None:
        if self.progress:
            self.progress(stage, done, total)
