"""Heavy SDKs must not load for --help or validate (they cost hundreds of milliseconds)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, ROOT

FORBIDDEN = ("boto3", "botocore", "azure", "google", "jwt", "cryptography", "nacl", "sqlalchemy")


def imported_modules(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nhictl", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    assert modules, result.stderr
    return modules


@pytest.mark.parametrize("args", [("--help",), ("validate", str(EXAMPLE))])
def test_no_heavy_imports(args: tuple[str, ...]) -> None:
    modules = imported_modules(*args)
    heavy = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert heavy == [], heavy


@pytest.mark.parametrize("args", [("--help",), ("validate", str(EXAMPLE))])
def test_json_writer_loads_only_where_json_is_written(args: tuple[str, ...]) -> None:
    # orjson is cheap (~2 ms with the json module it imports) but nothing here writes JSON.
    modules = imported_modules(*args)
    assert "orjson" not in modules and "nhictl.core.jsonout" not in modules


def test_json_output_loads_the_json_writer() -> None:
    assert "orjson" in imported_modules("validate", "-f", "json", str(EXAMPLE))


# --------------------------------------------------------------------------- layer rules
# Read from the source (no import runs), so a rule break fails here even in code no test runs.

PACKAGE = ROOT / "nhictl"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def type_checking_nodes(tree: ast.AST) -> set[ast.AST]:
    """Nodes under ``if TYPE_CHECKING:``: type-only, they never run."""
    inside: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.body:
                inside |= set(ast.walk(child))
    return inside


def imports_of(path: Path, *, runtime_only: bool = False) -> list[tuple[int, str, str | None]]:
    """(line, module, name) for every nhictl import in the file, function-level ones included
    (and ``TYPE_CHECKING`` ones unless ``runtime_only``); ``name`` is None for ``import x.y``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = type_checking_nodes(tree) if runtime_only else set()
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, None) for a in node.names if a.name[:6] == "nhictl"]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "")[:6] == "nhictl"
        ):
            found += [(node.lineno, str(node.module), a.name) for a in node.names]
    return found


def core_edges() -> dict[str, set[str]]:
    """nhictl.core module -> the nhictl.core modules it imports when it runs (``from pkg import
    mod`` counts as importing ``pkg.mod``; type-only imports cannot form a cycle)."""
    edges: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        if not name.startswith("nhictl.core"):
            continue
        targets = edges.setdefault(name, set())
        for _, module, imported in imports_of(path, runtime_only=True):
            target = f"{module}.{imported}" if f"{module}.{imported}" in MODULES else module
            if target.startswith("nhictl.core") and target != name:
                targets.add(target)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_sees_a_known_cycle() -> None:
    # The checker itself, on a graph with a known answer.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_core_modules_form_no_import_cycle() -> None:
    edges = core_edges()
    assert "nhictl.core.credentials.service" in edges["nhictl.core.credentials"]
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_registry_does_not_import_credentials() -> None:
    # The disable hook runs through nhictl.core.revocation, the layer below both.
    edges = core_edges()
    registry = [m for m in edges if m.startswith("nhictl.core.registry")]
    assert registry
    for module in registry:
        assert not any(t.startswith("nhictl.core.credentials") for t in edges[module]), module


def private_uses(path: Path) -> list[str]:
    """``from nhictl.x import _private``, imports of a ``_private`` module, and
    ``module._private`` on an imported nhictl module, each as ``file:line: what``."""
    problems: list[str] = []
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules_bound: set[str] = set()
    for line, module, imported in imports_of(path):
        where = f"{shown}:{line}"
        if any(is_private(part) for part in module.split(".")):
            problems.append(f"{where}: imports private module {module}")
        if imported is not None and is_private(imported):
            problems.append(f"{where}: imports {imported} from {module}")
        if imported is not None and f"{module}.{imported}" in MODULES:
            modules_bound.add(imported)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules_bound |= {a.asname for a in node.names if a.asname}
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nhictl"):
            modules_bound |= {
                a.asname for a in node.names if a.asname and f"{node.module}.{a.name}" in MODULES
            }
    problems += [
        f"{shown}:{node.lineno}: uses {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules_bound
        and is_private(node.attr)
    ]
    return problems


def test_private_uses_sees_known_uses(tmp_path: Path) -> None:
    # The checker itself, on a file with known answers (line 2, 3 and 5; not line 4 or 6).
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from nhictl.core import jose as j\n"
        "from nhictl.core.jose import _parse_header\n"
        "import nhictl.core._hidden\n"
        "from nhictl import __version__\n"
        "j._numeric(1)\n"
        "j.parse_unverified\n",
        encoding="utf-8",
    )
    found = [p.split(":")[1] for p in private_uses(sample)]
    assert sorted(found) == ["2", "3", "5"], private_uses(sample)


def test_no_private_names_cross_modules() -> None:
    """What is shared between nhictl modules is public: make it public or move it."""
    problems = [p for path in MODULES.values() for p in private_uses(path)]
    assert problems == [], "\n".join(problems)
