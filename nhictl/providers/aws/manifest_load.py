"""Reading registration manifests for audit-creep, in a second process when there are many.

Every file goes through the strict loader (duplicate keys, alias bombs and deep nesting are
refused exactly as ``nhictl validate`` refuses them). Thousands of manifests take ~0.3 ms each,
so a forked worker parses them in chunks while this process loads the snapshot; once the
snapshot is loaded, this process takes over the chunks the worker has not started. Only
declarations travel back. Results and errors are combined in file order, so the outcome is the
same as reading the files one by one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name, is_stdin, read_input
from nhictl.creep.model import Declaration
from nhictl.providers.aws.manifests import ROLE_ARN_PATH, ParsedManifest, declarations

if TYPE_CHECKING:
    from nhictl.core.manifest.inputs import InputPath

_ROLE_ARN = ("spec", "entitlements", "aws", "roleArn")
_PARALLEL_MANIFESTS = 200  # below this, a second process costs more than it saves
_CHUNK = 25  # manifests per task: the unit this process can take over from the worker


def load_declarations(paths: Iterable[str]) -> list[Declaration]:
    """Read manifests (files, directories, globs) with the safe loader; keep AWS entitlements."""
    from nhictl.core.manifest.inputs import expand_inputs

    return declarations(parse_manifests(list(expand_inputs(paths))))


def parse_manifests(items: list[InputPath]) -> list[ParsedManifest]:
    """Parse the given files in order; the first bad one raises (InputError)."""
    from nhictl.core.safeyaml import Limits, load_text, read_text

    limits = Limits()
    parsed: list[ParsedManifest] = []
    for item in items:
        if item.problem:
            raise InputError(f"{item.path}: {item.problem}")
        if is_stdin(item.path):
            name = display_name(item.path)
            text = read_text(name, limits, data=read_input(item.path, max_bytes=limits.max_bytes))
        else:
            name = item.path
            text = read_text(item.path, limits)
        as_json = item.path.lower().endswith(".json")
        for doc in load_text(name, text, limits, as_json=as_json):
            if not isinstance(doc.data, dict):
                continue
            pos = doc.locate(_ROLE_ARN)
            parsed.append(ParsedManifest(doc.data, name, {ROLE_ARN_PATH: pos}))
    return parsed


# A chunk's declarations, or the first entitlement error among them (judged after parsing).
_Chunk = tuple[list[Declaration], InputError | None]


def _chunk(items: list[InputPath]) -> _Chunk:
    """Parse a chunk (parse errors raise) and keep only its declarations (small to send)."""
    parsed = parse_manifests(items)
    try:
        return declarations(parsed), None
    except InputError as exc:
        return [], exc


class ManifestJobs:
    """Manifests being parsed by a forked worker, chunk by chunk."""

    def __init__(self, pool: Executor, chunks: list[list[InputPath]]) -> None:
        self._pool = pool
        self._chunks = chunks
        self._futures: list[Future[_Chunk]] = [pool.submit(_chunk, chunk) for chunk in chunks]

    @classmethod
    def start(cls, paths: list[str]) -> ManifestJobs | None:
        """A worker for many manifests on a multi-core machine; None otherwise."""
        if not paths or (os.cpu_count() or 1) < 2:
            return None
        from nhictl.core.manifest.inputs import expand_inputs

        items = list(expand_inputs(paths))
        if len(items) < _PARALLEL_MANIFESTS or any(is_stdin(i.path) for i in items):
            return None
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Imported before the fork, so the worker inherits the YAML loader instead of importing
        # it again (~25 ms); this process needs it anyway for the chunks it takes over.
        import nhictl.core.safeyaml  # noqa: F401

        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        return cls(pool, [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)])

    def result(self) -> list[Declaration]:
        """Every declaration, in file order, with the error reading them one by one gives:
        the first file that does not parse, else the first bad entitlement."""
        # Last chunks first: the worker works from the front, so both meet in the middle.
        here: dict[int, _Chunk | InputError] = {}
        for i in reversed(range(len(self._chunks))):
            if not self._futures[i].cancel():
                break  # the worker has started this one and therefore every earlier one
            try:
                here[i] = _chunk(self._chunks[i])
            except InputError as exc:
                here[i] = exc
        chunks: list[_Chunk] = []
        for i, future in enumerate(self._futures):
            outcome = here[i] if i in here else future.result()  # raises a worker parse error
            if isinstance(outcome, InputError):
                raise outcome
            chunks.append(outcome)
        for _, error in chunks:
            if error is not None:
                raise error
        return [d for decls, _ in chunks for d in decls]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
