"""The layer contract: every import of the package follows the layer table in docs/architecture.md, no
module imports one that imports it back, and sessions are opened only by the hook (and ssh/ itself)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.import_graph import (
    PACKAGE,
    Layers,
    cycles,
    imports,
    modules,
    parse,
    read_layers,
    violations,
)

SESSION_OPENERS = ("hooks", "ssh")  # open_session is called only here: everything else asks the hook
BRIDGE = "hooks.event_loop"  # the one place synchronous code starts an event loop (run_on_new_loop)
LOOP_STARTERS = {"run", "Runner", "run_until_complete", "new_event_loop"}  # asyncio's ways to run a loop


def test_every_import_follows_the_layer_table() -> None:
    assert violations(imports(), read_layers()) == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles(imports()) == []


def test_every_module_has_a_place_in_the_table() -> None:
    layers = read_layers()
    assert [name for name in modules() if layers.place(name) is None] == []


def test_only_the_hook_opens_sessions() -> None:
    callers = []
    for name, path in modules().items():
        if name.split(".")[0] in SESSION_OPENERS:
            continue
        tree = parse(path)
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        if "open_session" in used:
            callers.append(name)
    assert callers == []


def test_one_bridge_from_synchronous_code_to_asyncio() -> None:
    starters = []
    for name, path in modules().items():
        tree = parse(path)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in LOOP_STARTERS
                and isinstance(node.value, ast.Name)
                and node.value.id in ("asyncio", "uvloop")
            ):
                starters.append(f"{name}:{node.lineno} {node.value.id}.{node.attr}")
    assert [starter for starter in starters if not starter.startswith(f"{BRIDGE}:")] == []
    assert starters  # the bridge itself is found, so the scan sees what it looks for


# --- the check itself can fail ------------------------------------------------------------------------


def write_package(root: Path, sources: dict[str, str]) -> Path:
    for name, text in sources.items():
        path = root / PACKAGE / f"{name.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for parent in path.relative_to(root).parents[:-1]:
            (root / parent / "__init__.py").touch()
    return root


def test_the_check_finds_an_upward_import_a_crossing_and_a_cycle(tmp_path: Path) -> None:
    root = write_package(
        tmp_path,
        {
            "low": f"from {PACKAGE}.high import thing\n",  # runs up
            "high": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .low import other\n",  # a cycle
            "left": f"def f():\n    from {PACKAGE} import right\n",  # across a row, in a function
            "right": "",
        },
    )
    layers = Layers([[["high"]], [["left"], ["right"]], [["low"]], [[""]]])
    found = imports(root)
    assert violations(found, layers) == [
        "left -> right (lazy, line 2): across a row",
        "low -> high (top, line 1): runs up a layer",
    ]
    assert cycles(found) == [["high", "low"]]
    assert "low -> high: a module the layer table does not place" in violations(found, Layers([[["high"]]]))
