"""The library's source as functions, for tests that check what every writer does."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[2] / "composite" / "library"


def functions() -> Iterator[tuple[Path, ast.FunctionDef, list[ast.AST]]]:
    """Each function of the library with its own nodes: those not inside a function it defines."""
    for path in sorted(LIBRARY.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            inner = {n for child in node.body for n in ast.walk(child) if isinstance(n, ast.FunctionDef)}
            yield path, node, [n for n in ast.walk(node) if not any(n in ast.walk(f) for f in inner)]


def strings(nodes: list[ast.AST]) -> list[str]:
    """The string constants among nodes (SQL, mostly)."""
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]
