"""The layout rules a newcomer relies on, checked on the source tree (docs/DESIGN.md §1 and §4)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["spatial", "layers", "styles", "ingest", "tiles", "sample", "import", "api", "backup", "benchmarks"]
# The code base writes SQL keywords in capitals, which keeps English prose ("Select the …") out.
SQL = re.compile(r"\b(SELECT\b.+\bFROM|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b", re.DOTALL)
# A module past this many lines is split along what it holds (the house style says "about 400").
MAX_MODULE_LINES = 450


def _ours(path: Path) -> bool:
    # Hidden folders hold others' code (benchmarks/.work has tipg's virtual environment).
    return not any(part.startswith(".") or part in ("__pycache__", "node_modules", "var")
                   for part in path.relative_to(ROOT).parts)


def _modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py") if _ours(p))


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_api_writes_no_sql() -> None:
    found = [f"{p.relative_to(ROOT)}:{line}" for p in _modules("api") for line, s in _strings(p) if SQL.search(s)]
    assert not found, f"SQL belongs in layers/ (or tiles/), not api/: {found}"


def test_the_sql_detector_finds_sql() -> None:
    assert SQL.search("SELECT extversion FROM pg_extension") and SQL.search("INSERT INTO t VALUES (1)")
    assert not SQL.search("Select the layers you may see from the list")


@pytest.mark.parametrize("path", _modules(*PACKAGES), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by what it holds"


def test_nothing_reads_outside_the_repository() -> None:
    # The repository stands on its own: no sibling shared/ folder, no machine's absolute paths.
    outside = re.compile(r"\.\./shared|/wor[k]/|/hom[e]/[a-z]")
    files = [*_modules(*PACKAGES, "tests"), *(ROOT / "scripts").glob("*"), *(ROOT / ".ci").glob("*"),
             ROOT / "Makefile", ROOT / "pyproject.toml", ROOT / "README.md"]
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in files if p.is_file() and p != Path(__file__)
            for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if outside.search(line)]
    assert not hits, hits
