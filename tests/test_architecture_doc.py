"""docs/architecture.md's module table is kept true: every module it names exists, every module of the package
is named in it, and the page's browser modules it names are the ones shipped (the layer table is checked by
tests/test_layers.py)."""

from __future__ import annotations

import re

from tests.support.import_graph import ARCHITECTURE, PACKAGE, REPO, modules

PACKAGE_DIR = REPO / PACKAGE
STATIC = PACKAGE_DIR / "plugin" / "static"


def module_table() -> list[str]:
    """The rows of the "Modules" table."""
    section = (REPO / ARCHITECTURE).read_text().split("## Modules", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def named_paths() -> set[str]:
    """The paths the table's first column names, package-relative (``pgp/`` a whole package; a bare
    ``import_state.py`` after ``transfer/importer.py`` in the same cell is in ``transfer/``)."""
    named = set()
    for row in module_table():
        folder = ""
        for item in re.findall(r"`([^`]*)`", row.split("|")[1]):
            if "/" in item:
                folder = item.rpartition("/")[0]
                named.add(item)
            else:
                named.add(f"{folder}/{item}" if folder else item)
    return named


def test_every_module_the_table_names_exists() -> None:
    named = named_paths()
    assert len(named) > 40  # the table was read
    assert sorted(name for name in named if not (PACKAGE_DIR / name).exists()) == []


def test_every_module_of_the_package_is_in_the_table() -> None:
    named = named_paths()
    packages = tuple(name for name in named if name.endswith("/"))
    unnamed = [
        relative
        for path in modules().values()
        if path.name != "__init__.py"
        and (relative := path.relative_to(PACKAGE_DIR).as_posix()) not in named
        and not relative.startswith(packages)
    ]
    assert unnamed == []


def test_the_browser_modules_named_are_the_ones_shipped() -> None:
    text = (REPO / ARCHITECTURE).read_text()
    shipped = {path.stem for path in STATIC.glob("*.js")}
    named = set(re.findall(r"`([a-z_]+)\.js`", text)) | {word for word in re.findall(r"`([a-z_]+)`", text)}
    assert len(shipped) > 10
    assert sorted(shipped - named) == []
    assert sorted(set(re.findall(r"`([a-z_]+)\.js`", text)) - shipped) == []
