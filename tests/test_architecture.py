"""docs/ARCHITECTURE.md stays true: every path it names exists, every package is on it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "ARCHITECTURE.md"
NAMED = re.compile(r"`((?:core|plugins|tests|examples|docs|bench)/[^`\s]*)`")


def named_paths() -> set[str]:
    return set(NAMED.findall(PAGE.read_text(encoding="utf-8")))


def test_every_path_the_architecture_page_names_exists() -> None:
    missing = sorted(p for p in named_paths() if not (ROOT / p.rstrip("/")).exists())
    assert not missing, f"docs/ARCHITECTURE.md names paths that do not exist: {missing}"


def test_every_package_of_core_and_plugins_is_on_the_page() -> None:
    named = named_paths()
    packages = sorted(
        f"{init.parent.relative_to(ROOT)}/"
        for top in ("core", "plugins")
        for init in (ROOT / top).rglob("__init__.py")
        if init.parent != ROOT / top
    )
    absent = [pkg for pkg in packages if not any(p == pkg or p.startswith(pkg) for p in named)]
    assert not absent, f"packages docs/ARCHITECTURE.md does not mention: {absent}"


def test_modules_and_classes_stay_small() -> None:
    """The style rule (DESIGN.md §7): a module at most 300 lines, a class at most 200."""
    too_big = []
    for top in ("core", "plugins"):
        for path in (ROOT / top).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            name = path.relative_to(ROOT)
            if len(text.splitlines()) > 300:
                too_big.append(f"{name}: {len(text.splitlines())} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.ClassDef):
                    size = (node.end_lineno or node.lineno) - node.lineno + 1
                    if size > 200:
                        too_big.append(f"{name}: class {node.name} {size} lines")
    assert not too_big, too_big
