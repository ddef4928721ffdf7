"""Reading registration manifests for audit-creep, for every provider, in a second process when
there are many.

Every file goes through the strict loader (duplicate keys, alias bombs and deep nesting are
refused exactly as ``nhictl validate`` refuses them); each provider only reads its own
``spec.entitlements.<cloud>`` from the parsed documents (a ``ManifestReader``). Thousands of
manifests take ~0.3 ms each, so a forked worker parses them in chunks while this process loads
the snapshot; once the snapshot is loaded, this process takes over the chunks the worker has not
started. Only declarations travel back. Results and errors are combined in file order, so the
outcome is the same as reading the files one by one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name, is_stdin, read_input
from nhictl.creep.model import Declaration

if TYPE_CHECKING:
    from nhictl.core.manifest.inputs import InputPath

Locate = Callable[[str], tuple[int, int] | None] | Mapping[str, tuple[int, int]]

_PARALLEL_MANIFESTS = 200  # below this, a second process costs more than it saves
_CHUNK = 25  # manifests per task: the unit this process can take over from the worker


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    """A manifest document as the loader hands it over."""

    data: Mapping[str, Any]
    source: str | None = None
    locate: Locate | None = None  # JSON path -> (line, column)


def where(m: ParsedManifest, path: str) -> tuple[int, int] | None:
    """Line and column of ``path`` (``$.a.b``) in the manifest, when known."""
    if m.locate is None:
        return None
    return m.locate(path) if callable(m.locate) else m.locate.get(path)


def entitlements(data: Mapping[str, Any], cloud: str) -> Mapping[str, Any] | None:
    """``spec.entitlements.<cloud>`` of an AgentRegistration; None when it declares none."""
    if data.get("kind") != "AgentRegistration":
        return None
    spec = data.get("spec")
    ent = spec.get("entitlements") if isinstance(spec, Mapping) else None
    found = ent.get(cloud) if isinstance(ent, Mapping) else None
    return found if isinstance(found, Mapping) else None


def agent_name(data: Mapping[str, Any], default: str) -> str:
    """``metadata.name``, or ``default`` (the principal) when the manifest has none."""
    meta = data.get("metadata")
    return str(meta.get("name")) if isinstance(meta, Mapping) and meta.get("name") else default


@dataclass(frozen=True, slots=True)
class ManifestReader:
    """How one provider reads its declarations out of parsed manifests.

    ``read`` turns manifests into declarations (raising InputError on a bad entitlement);
    ``at`` is the JSON path each declaration is located at. With ``parse_first`` every file is
    parsed before any entitlement is judged, so a file that does not parse is reported before a
    bad entitlement anywhere; without it, the first problem in file order is (GCP's reading).
    ``read`` must be a module-level function: the worker receives it pickled.
    """

    read: Callable[[Iterable[ParsedManifest]], list[Declaration]]
    at: str
    parse_first: bool = True

    def load(self, paths: Iterable[str]) -> list[Declaration]:
        """Read manifests (files, directories, globs, ``-``) one by one, in this process."""
        from nhictl.core.manifest.inputs import expand_inputs

        decls, error = _chunk(self, list(expand_inputs(paths)))
        if error is not None:
            raise error
        return decls


def parse_manifests(items: Iterable[InputPath], at: str) -> Iterator[ParsedManifest]:
    """Parse the given files in order, lazily, each document located at ``at``; the first bad
    file raises (InputError)."""
    from nhictl.core.safeyaml import Limits, load_text, read_text

    path = tuple(at.removeprefix("$.").split("."))
    limits = Limits()
    for item in items:
        if item.problem:
            raise InputError(f"{item.path}: {item.problem}")
        if is_stdin(item.path):
            name = display_name(item.path)
            text = read_text(name, limits, data=read_input(item.path, max_bytes=limits.max_bytes))
        else:
            name = item.path
            text = read_text(item.path, limits)
        for doc in load_text(name, text, limits, as_json=item.path.lower().endswith(".json")):
            if isinstance(doc.data, dict):
                yield ParsedManifest(doc.data, name, {at: doc.locate(path)})


# A chunk's declarations, or the error to raise once no earlier file failed to parse.
_Chunk = tuple[list[Declaration], InputError | None]


def _chunk(reader: ManifestReader, items: list[InputPath]) -> _Chunk:
    """Parse a chunk and keep only its declarations (small to send). Errors that must win in
    file order raise; a bad entitlement found after parsing is returned."""
    if not reader.parse_first:
        return reader.read(parse_manifests(items, reader.at)), None
    parsed = list(parse_manifests(items, reader.at))
    try:
        return reader.read(parsed), None
    except InputError as exc:
        return [], exc


class ManifestJobs:
    """Manifests being parsed by a forked worker, chunk by chunk."""

    def __init__(
        self, pool: Executor, reader: ManifestReader, chunks: list[list[InputPath]]
    ) -> None:
        self._pool = pool
        self._reader = reader
        self._chunks = chunks
        self._futures: list[Future[_Chunk]] = [
            pool.submit(_chunk, reader, chunk) for chunk in chunks
        ]

    @classmethod
    def start(cls, paths: list[str], reader: ManifestReader) -> ManifestJobs | None:
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
        return cls(pool, reader, [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)])

    def result(self) -> list[Declaration]:
        """Every declaration, in file order, with the error reading them one by one gives."""
        # Last chunks first: the worker works from the front, so both meet in the middle.
        here: dict[int, _Chunk | InputError] = {}
        for i in reversed(range(len(self._chunks))):
            if not self._futures[i].cancel():
                break  # the worker has started this one and therefore every earlier one
            try:
                here[i] = _chunk(self._reader, self._chunks[i])
            except InputError as exc:
                here[i] = exc
        chunks: list[_Chunk] = []
        for i, future in enumerate(self._futures):
            outcome = here[i] if i in here else future.result()  # raises a worker's error
            if isinstance(outcome, InputError):
                raise outcome
            chunks.append(outcome)
        for _, error in chunks:
            if error is not None:
                raise error
        return [d for decls, _ in chunks for d in decls]

    def close(self) -> None:
        # Wait (for at most the chunk the worker is on): a pool's manager thread still running
        # at the next fork (the next audit in this process) is copied holding its locks, and
        # the new worker then deadlocks in its first garbage collection.
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def declarations_ahead(
    paths: list[str], reader: ManifestReader
) -> Iterator[Callable[[], list[Declaration]]]:
    """Start reading the manifests (in a worker when there are many) while the caller loads its
    snapshot; call what this yields for the declarations once they are needed."""
    jobs = ManifestJobs.start(paths, reader)
    if jobs is None:
        yield lambda: reader.load(paths) if paths else []
        return
    try:
        yield jobs.result
    finally:
        jobs.close()
