"""Safe, bounded loading of YAML and JSON documents, keeping node positions for error reports.

Hostile input must fail fast with one line naming the file and the reason: oversize files,
non-UTF-8 bytes, unknown tags (``!!python/object``), duplicate keys, alias bombs ("billion
laughs") and deep nesting. Only the safe constructors run; timestamps stay strings so the data
is plain JSON (dict, list, str, int, float, bool, None).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nhictl.core import strictjson
from nhictl.core.errors import InputError
from nhictl.core.inputfile import read_input
from nhictl.core.redact import quote

try:  # libyaml's C parser is ~10x faster; fall back to pure Python where it is missing.
    from yaml import CSafeLoader as _BaseLoader
    from yaml import _yaml as _libyaml

    # libyaml >= 0.2.6 refuses nesting deeper than 1000 while parsing; older builds recurse in C
    # while composing and can crash the process, so for them we pre-scan the event stream.
    _NEEDS_DEPTH_PRESCAN = tuple(_libyaml.get_version()) < (0, 2, 6)
    _LIBYAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

    _NEEDS_DEPTH_PRESCAN = False
    _LIBYAML = False

JsonPath = tuple[str | int, ...]

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_NODES = 100_000
_UNSUPPORTED_TAGS = ("set", "omap", "pairs", "binary")


@dataclass(frozen=True)
class Limits:
    """Resource bounds for one file; defaults suit registration manifests."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    max_nodes: int = DEFAULT_MAX_NODES


@dataclass
class Document:
    """One parsed document of a file, with a way back from a JSON path to line and column."""

    source: str
    index: int
    data: Any
    _node: Node | None = field(default=None, repr=False)
    _text: str | None = field(default=None, repr=False)

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Return the 1-based (line, column) of the node at ``path``.

        With ``key=True`` and a mapping key as the last element, return where the key itself
        starts (what an editor should highlight for an unknown field). Paths that do not
        resolve fall back to the deepest node that does.
        """
        node = self._root()
        if node is None:
            return (1, 1)
        mark = node.start_mark
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            if isinstance(node, MappingNode):
                match = _find_pair(node, part)
                if match is None:
                    break
                key_node, node = match
                mark = key_node.start_mark if (last and key) else node.start_mark
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        return (mark.line + 1, mark.column + 1)

    def _root(self) -> Node | None:
        if self._node is None and self._text is not None:
            # JSON documents are composed lazily, only when an error needs a position.
            try:
                self._node = yaml.compose(self._text, Loader=_BaseLoader)
            except (yaml.YAMLError, RecursionError):
                self._text = None
        return self._node


def _find_pair(node: MappingNode, key: str | int) -> tuple[Node, Node] | None:
    found = None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            found = (key_node, value_node)  # the last one wins, as in construction
    return found


class _Loader(_BaseLoader):
    """Safe loader: string keys, no duplicates, timestamps as text, no exotic tags."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, "expected a mapping", node.start_mark)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode):
                raise ConstructorError(
                    None, None, "mapping keys must be plain strings", key_node.start_mark
                )
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.value in seen:
                raise ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add(key_node.value)
        self.flatten_mapping(node)  # resolves '<<' merge keys; explicit keys override merged ones
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            # Keys are taken as written: YAML 1.1 would turn `on:` into True and `1:` into 1.
            mapping[str(key_node.value)] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_map(self, node: Node) -> Generator[dict[Any, Any], None, None]:
        data: dict[Any, Any] = {}
        yield data
        data.update(self.construct_mapping(node))

    def construct_unsupported(self, node: Node) -> Any:
        raise ConstructorError(None, None, f"unsupported YAML tag {node.tag!r}", node.start_mark)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # libyaml calls back here for every node; without path resolvers a plain scalar's tag
        # depends on its text alone, and manifests repeat the same keys and values, so
        # remember it instead of running the implicit-resolver regexes again.
        if kind is ScalarNode and implicit[0] and not self.yaml_path_resolvers:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                if len(_PLAIN_TAGS) >= _PLAIN_TAGS_MAX:
                    _PLAIN_TAGS.clear()
                tag = _PLAIN_TAGS[value] = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


_PLAIN_TAGS: dict[str, str] = {}  # plain scalar text -> resolved tag
_PLAIN_TAGS_MAX = 10_000


def _checked_scalar(construct: Callable[[Any, Node], Any]) -> Callable[[Any, Node], Any]:
    """An implicit scalar always fits its tag; an explicit one (``!!float a``, ``!!int``) may
    not, and PyYAML's constructors then raise ValueError or IndexError: report it instead."""

    def build(loader: Any, node: Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, IndexError, KeyError, TypeError, OverflowError):
            kind = str(node.tag).rsplit(":", 1)[-1]
            raise ConstructorError(
                None, None, f"{quote(node.value)} is not a valid !!{kind}", node.start_mark
            ) from None

    return build


for _tag in ("int", "float", "bool", "null"):
    _name = f"tag:yaml.org,2002:{_tag}"
    _Loader.add_constructor(_name, _checked_scalar(_BaseLoader.yaml_constructors[_name]))
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)  # type: ignore[type-var]
for _tag in _UNSUPPORTED_TAGS:
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.construct_unsupported)


def read_text(path: str, limits: Limits, *, data: bytes | None = None) -> str:
    """Read ``path`` (or decode ``data`` read from stdin) as UTF-8 within the size cap."""
    hint = "raise it with --max-file-size or NHICTL_MAX_FILE_SIZE"
    if data is None:
        data = read_input(path, max_bytes=limits.max_bytes, hint=hint)
    if len(data) > limits.max_bytes:
        raise InputError(f"{path}: larger than the {limits.max_bytes} byte limit", hint=hint)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not valid UTF-8 (byte offset {exc.start})") from None
    if "\x00" in text:
        raise InputError(f"{path}: contains NUL characters; not a text file")
    return text


def load_yaml(source: str, text: str, limits: Limits) -> list[Document]:
    """Parse every YAML document in ``text``; empty documents (a bare ``---``) are skipped."""
    if _NEEDS_DEPTH_PRESCAN:
        _prescan_depth(source, text, limits)
    if "&" not in text:  # no anchor, so no alias: every node is built once
        plain = _load_plain(source, text, limits)
        if plain is not None:
            return plain
    loader = _Loader(text)

    def checked(node: Node) -> Any:
        _check_shape(source, node, limits)
        return loader.construct_document(node)

    try:
        return _documents(source, loader, checked)
    except yaml.MarkedYAMLError as exc:
        raise InputError(_yaml_error_line(source, exc)) from None
    except yaml.reader.ReaderError as exc:
        raise InputError(_reader_error_line(source, text, exc)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InputError(f"{source}: nesting too deep") from None
    finally:
        loader.dispose()


def _documents(source: str, loader: _Loader, build: Callable[[Node], Any]) -> list[Document]:
    """Every non-empty document of ``loader``, each built by ``build``."""
    documents: list[Document] = []
    while loader.check_node():
        node = loader.get_node()
        if node is None:
            continue
        data = build(node)
        if data is not None:
            documents.append(Document(source, len(documents), data, node))
    return documents


class _NotPlain(Exception):
    """The document needs the general path: merge keys, other tags, or a limit or key problem
    that the general path reports with its exact wording."""


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
# Scalars the loader's own constructors build (timestamps stay text, see _Loader).
_SCALARS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "timestamp")
)


def _load_plain(source: str, text: str, limits: Limits) -> list[Document] | None:
    """One pass per document that checks and builds alias-free YAML (the common manifest).

    Applies the same limits and key rules as ``_check_shape`` + ``_Loader`` and builds the
    same data, about twice as fast as the two passes. Returns None for anything unusual or
    invalid: the general path then decides, with its precise error message.
    """
    loader = _Loader(text)
    try:
        return _documents(source, loader, lambda node: _build_plain(loader, node, limits))
    except Exception:  # any problem: the general path decides and words it
        return None
    finally:
        loader.dispose()


def _build_plain(loader: _Loader, root: Node, limits: Limits) -> Any:
    return _PlainBuilder(loader, limits).build(root, 1)


class _PlainBuilder:
    """One document's build (a class, not a recursive closure: that would be a reference
    cycle holding the loader until the cyclic collector runs, and it is paused in batches)."""

    __slots__ = ("count", "loader", "max_depth", "max_nodes")

    def __init__(self, loader: _Loader, limits: Limits) -> None:
        self.loader = loader
        self.max_depth, self.max_nodes = limits.max_depth, limits.max_nodes
        self.count = 0

    def build(self, node: Node, depth: int) -> Any:
        self.count += 1
        if depth > self.max_depth or self.count > self.max_nodes:
            raise _NotPlain
        cls, tag = type(node), node.tag
        if cls is ScalarNode:
            if tag == _STR:
                return node.value
            if tag in _SCALARS:
                return self.loader.construct_object(node)
            raise _NotPlain
        if cls is SequenceNode and tag == _SEQ:
            return [self.build(child, depth + 1) for child in node.value]
        if cls is MappingNode and tag == _MAP:
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                self.count += 1  # the key is a node too
                if type(key_node) is not ScalarNode or key_node.tag == _MERGE:
                    raise _NotPlain
                key = key_node.value
                if key in out or depth + 1 > self.max_depth:
                    raise _NotPlain
                out[key] = self.build(value_node, depth + 1)
            return out
        raise _NotPlain


def load_json(source: str, text: str) -> list[Document]:
    """Parse one strict JSON document (no duplicate keys, NaN or trailing data)."""
    try:
        data = strictjson.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except ValueError as exc:
        raise InputError(f"{source}: invalid JSON: {exc}") from None
    return [Document(source, 0, data, None, text)]


def load_text(source: str, text: str, limits: Limits, *, as_json: bool) -> list[Document]:
    """Parse ``text`` as JSON or YAML, rejecting empty input."""
    if not text.strip():
        raise InputError(f"{source}: file is empty")
    documents = load_json(source, text) if as_json else load_yaml(source, text, limits)
    if not documents:
        raise InputError(f"{source}: contains no documents")
    return documents


def _yaml_error_line(source: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    if problem.startswith("could not determine a constructor for the tag"):
        problem = "unsupported YAML tag" + problem.removeprefix(
            "could not determine a constructor for the tag"
        )
    problem = " ".join(problem.split()).replace("tag:yaml.org,2002:", "!!")
    if mark is None:
        return f"{source}: invalid YAML: {problem}"
    return f"{source}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {problem}"


def _reader_error_line(source: str, text: str, exc: yaml.reader.ReaderError) -> str:
    """A character YAML refuses (a control character): one line with its position, where
    PyYAML's own message spans two."""
    # libyaml reports the code point, the pure-Python reader the character itself.
    char = exc.character if isinstance(exc.character, int) else ord(exc.character)
    # libyaml counts UTF-8 bytes, the pure-Python reader characters.
    before = (
        text.encode()[: exc.position].decode(errors="ignore") if _LIBYAML else text[: exc.position]
    )
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return (
        f"{source}:{line}:{column}: invalid YAML: unacceptable character #x{char:04x}: {exc.reason}"
    )


def _check_shape(source: str, root: Node, limits: Limits) -> None:
    """Reject documents that are too deep or that aliases expand beyond ``max_nodes``.

    Aliases make the node graph a DAG whose expansion can be exponential, so sizes are
    memoised per node and the walk is iterative (no recursion on hostile depth).
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        if depth > limits.max_depth:
            line = node.start_mark.line + 1
            raise InputError(f"{source}:{line}: nesting deeper than {limits.max_depth} levels")
        if isinstance(node, ScalarNode):
            sizes[id(node)] = 1
            continue
        children = _children(node)
        if expanded:
            total = 1 + sum(sizes[id(child)] for child in children)
            if total > limits.max_nodes:
                line = node.start_mark.line + 1
                raise InputError(
                    f"{source}:{line}: document expands to more than {limits.max_nodes} "
                    "nodes (alias bomb?)"
                )
            sizes[id(node)] = total
            continue
        if id(node) in sizes:
            continue
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _prescan_depth(source: str, text: str, limits: Limits) -> None:
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limits.max_depth:
                    line = event.start_mark.line + 1 if event.start_mark else 0
                    raise InputError(
                        f"{source}:{line}: nesting deeper than {limits.max_depth} levels"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise InputError(_yaml_error_line(source, exc)) from None
