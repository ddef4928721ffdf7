"""One error hierarchy for the whole core.

The CLI maps these to exit codes in exactly one place (``nhictl.cli.app``):
``VerdictError`` -> 1 (a negative answer), every other ``NhictlError`` -> 2 (usage or input).
Messages are one line, name the file/field/reason, and never contain a secret.
"""

from __future__ import annotations


class NhictlError(Exception):
    """Base class. ``exit_code`` is what the CLI exits with when this escapes a command."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(NhictlError):
    """A file, flag value or document that cannot be read, parsed or used."""


class ConfigError(NhictlError):
    """Settings (config file, environment) are malformed or inconsistent."""


class NotInitializedError(NhictlError):
    """The store or keys do not exist yet: ``nhictl init`` has not been run."""

    def __init__(self, message: str = "nhictl is not initialised here") -> None:
        super().__init__(message, hint="run `nhictl init` first (NHICTL_HOME selects the folder)")


class StoreError(NhictlError):
    """The store cannot be opened, migrated or written (corrupt, read-only, locked too long)."""


class ProviderError(NhictlError):
    """A cloud provider call failed (authentication, network, API error)."""


class VerdictError(NhictlError):
    """A negative answer: invalid manifest, denied, invalid token, findings over the threshold."""

    exit_code = 1
