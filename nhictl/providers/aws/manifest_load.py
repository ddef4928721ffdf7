"""Reading AWS declarations from manifest files: the shared loader
(``nhictl.providers.manifests``, with its forked worker for many files) bound to AWS's reader.
"""

from __future__ import annotations

from collections.abc import Iterable

from nhictl.creep.model import Declaration
from nhictl.providers import manifests
from nhictl.providers.aws.manifests import AWS_MANIFESTS


def load_declarations(paths: Iterable[str]) -> list[Declaration]:
    """Read manifests (files, directories, globs) with the safe loader; keep AWS entitlements."""
    return AWS_MANIFESTS.load(paths)


class ManifestJobs(manifests.ManifestJobs):
    """The shared worker, reading AWS entitlements unless told otherwise."""

    @classmethod
    def start(
        cls, paths: list[str], reader: manifests.ManifestReader = AWS_MANIFESTS
    ) -> manifests.ManifestJobs | None:
        return super().start(paths, reader)
