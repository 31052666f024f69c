"""The package's import graph read from its source (ast, nothing imported), and the layer check on it.

Every import counts: at module level, inside a function (imported on first use) and under
``TYPE_CHECKING`` (a type-only import still ties the two modules together). The layers are read from the
table in docs/architecture.md, so the drawing and the check cannot drift apart.

Run as a script for the report the closing notes quote::

    python -m tests.support.import_graph [ROOT]
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "airflow_provider_actito_sftp"
REPO = Path(__file__).resolve().parents[2]
ARCHITECTURE = "docs/architecture.md"
LAYER_TABLE_MARK = "<!-- layers: checked by tests/test_layers.py -->"
PARSE_TRIES = 5


@dataclass(frozen=True)
class Import:
    """One import of a package module by another: ``how`` is ``top``, ``lazy`` (in a function) or ``type``."""

    importer: str
    imported: str
    how: str
    line: int


def modules(root: Path = REPO) -> dict[str, Path]:
    """Every module of the package, dotted name (without the package prefix; the package itself is "")."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root / PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(root: Path = REPO) -> list[Import]:
    """Every import of one package module by another."""
    known = modules(root)
    return [found for name, path in known.items() for found in _imports_of(name, path, known)]


def parse(path: Path) -> ast.Module:
    """The syntax tree of the file ``path`` (:func:`parse_source`)."""
    return parse_source(path.read_text(), str(path))


def parse_source(source: str, filename: str = "<unknown>") -> ast.Module:
    """The syntax tree of ``source``: ``ast.parse``, tried again on CPython 3.11's spurious ``SystemError``.

    CPython 3.11 keeps the syntax-tree builder's recursion count in one place per interpreter, shared by every
    thread; a thread building a tree meanwhile (Python 3.11 parses source lines to place the ``^^^`` of every
    traceback it formats: a server thread logging an exception) can make a valid parse fail with
    ``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905; seen in CI under
    pytest-xdist, in two different tests). The same text parsed again is as good an answer.
    """
    for _ in range(PARSE_TRIES - 1):
        try:
            return ast.parse(source, filename)
        except SystemError:
            continue
    return ast.parse(source, filename)


def _imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    tree = parse(path)
    how_of = _placement(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        for target in _targets(node, package):
            imported = _resolve(target, known)
            if imported is not None and imported != name:
                yield Import(name, imported, how_of.get(id(node), "top"), getattr(node, "lineno", 0))


def _placement(tree: ast.Module) -> dict[int, str]:
    """Node id -> "type" (under ``if TYPE_CHECKING``) or "lazy" (inside a function)."""
    placed: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            placed.update((id(inner), "lazy") for inner in ast.walk(node) if inner is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            placed.update((id(inner), "type") for statement in node.body for inner in ast.walk(statement))
    return placed


def _targets(node: ast.AST, package: str) -> list[str]:
    """The package-relative dotted names an import statement may refer to (module or module.attribute)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = ".".join([PACKAGE, *package.split(".")]) if package else PACKAGE
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = f"{base}.{node.module}" if node.module else base
        else:
            module = node.module or ""
        names = [f"{module}.{alias.name}" for alias in node.names]
    else:
        return []
    return [name.removeprefix(PACKAGE).lstrip(".") for name in names if name.split(".")[0] == PACKAGE]


def _resolve(target: str, known: dict[str, Path]) -> str | None:
    """The longest known module ``target`` names (an attribute import names its module)."""
    while target not in known:
        if not target:
            return None
        target = target.rpartition(".")[0]
    return target


def cycles(found: Iterable[Import]) -> list[list[str]]:
    """The module groups that import each other round (strongly connected components of two or more)."""
    graph: dict[str, set[str]] = {}
    for edge in found:
        graph.setdefault(edge.importer, set()).add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


@dataclass(frozen=True)
class Layers:
    """The layer table: rows from the top (front ends) down; a row's cells are groups that must not import
    each other; a group is module names (a package name covers its modules)."""

    rows: list[list[list[str]]]

    def place(self, module: str) -> tuple[int, int] | None:
        """(row, cell) of the longest name covering ``module``; None when no row names it."""
        best: tuple[int, tuple[int, int]] | None = None
        for row_index, row in enumerate(self.rows):
            for cell_index, cell in enumerate(row):
                for name in cell:
                    covers = module == name or (bool(name) and module.startswith(name + "."))
                    if covers and (best is None or len(name) > best[0]):
                        best = (len(name), (row_index, cell_index))
        return best[1] if best else None


def read_layers(root: Path = REPO) -> Layers:
    """The layer table of docs/architecture.md (after its marker comment)."""
    text = (root / ARCHITECTURE).read_text()
    if LAYER_TABLE_MARK not in text:
        raise ValueError(f"{ARCHITECTURE} has no layer table after {LAYER_TABLE_MARK!r}")
    rows = []
    for line in text.split(LAYER_TABLE_MARK, 1)[1].strip().splitlines()[2:]:
        if not line.startswith("|"):
            break
        modules_cell = line.strip().strip("|").split("|")[1]
        cells = [re.findall(r"`([^`]*)`", cell) for cell in modules_cell.split("·")]
        rows.append([[name.removeprefix(PACKAGE).lstrip(".") for name in cell] for cell in cells])
    return Layers(rows)


def violations(found: Iterable[Import], layers: Layers) -> list[str]:
    """Every import that runs up the layers or across a row's independent groups, and every unplaced module."""
    problems = []
    for edge in found:
        where, what = layers.place(edge.importer), layers.place(edge.imported)
        if where is None or what is None:
            problems.append(f"{edge.importer or PACKAGE} -> {edge.imported}: a module the layer table does not place")
        elif what[0] < where[0]:
            problems.append(f"{edge.importer} -> {edge.imported} ({edge.how}, line {edge.line}): runs up a layer")
        elif what[0] == where[0] and what[1] != where[1]:
            problems.append(f"{edge.importer} -> {edge.imported} ({edge.how}, line {edge.line}): across a row")
    return sorted(set(problems))


def report(root: Path, layers: Layers) -> str:
    """Modules, imports, cycles and layer violations, as the closing notes quote them."""
    found = imports(root)
    groups = cycles(found)
    runtime_groups = cycles(edge for edge in found if edge.how != "type")
    problems = violations(found, layers)
    lines = [
        f"{len(modules(root))} modules, {len(found)} imports between them",
        f"import cycles: {len(groups)} ({len(runtime_groups)} without TYPE_CHECKING imports)",
        *(f"  cycle: {' <-> '.join(group)}" for group in groups),
        f"layer violations: {len(problems)}",
        *(f"  {problem}" for problem in problems),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO, read_layers()))
