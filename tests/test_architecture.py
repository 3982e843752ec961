"""Layers: app/ and db/ never import Qt; ui/ reaches the vault only through app/."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_modules_import_no_qt_statically() -> None:
    offenders = []
    for package in ("app", "db"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text("utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(n.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "shiboken6"}
                       for n in names):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def _imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_ui_never_imports_db() -> None:
    """Only db/ speaks SQL to the vault, and the UI gets there through app/'s services."""
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "ui").rglob("*.py")
        for name in _imported_modules(path)
        if name == "db" or name.startswith(("db.", "sqlcipher3"))
    )
    assert offenders == []


def test_core_runs_without_qt_loaded() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import app, db\n"
        "for pkg in (app, db):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.startswith(('PySide6', 'shiboken'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_main_answers_version() -> None:
    out = subprocess.run([sys.executable, "main.py", "--version"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("Sharelog ")
