"""Registration manifests: safe loading, schema and semantic validation, positions for errors.

The validator and its results load on first use, so importing a light submodule
(``nhictl.core.manifest.inputs``, as ``audit-creep`` does) does not pay for the schema
machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nhictl.core.manifest.results import DocumentResult, Issue, Severity, Summary
    from nhictl.core.manifest.validator import ManifestValidator, ValidateOptions

__all__ = [
    "DocumentResult",
    "Issue",
    "ManifestValidator",
    "Severity",
    "Summary",
    "ValidateOptions",
]

_HOME = {
    "DocumentResult": "results",
    "Issue": "results",
    "Severity": "results",
    "Summary": "results",
    "ManifestValidator": "validator",
    "ValidateOptions": "validator",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
