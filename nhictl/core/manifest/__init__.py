"""Registration manifests: safe loading, schema and semantic validation, positions for errors."""

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
