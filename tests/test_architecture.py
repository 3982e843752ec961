"""The headless core stays headless: app/ and db/ never import Qt."""

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
