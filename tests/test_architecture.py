"""Layers: app/ and db/ never import Qt; ui/ reaches the vault only through app/; ui/ is
arranged by screen, and screens meet only in the shell."""

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


UI = ROOT / "ui"
SHELL, WIDGETS = "shell", "widgets"


def _ui_targets(path: Path, root: Path) -> list[str]:
    """The ui modules ``path`` imports (``from ui import x`` names ``ui.x``; relative
    imports resolved), at any depth: the lazy imports inside functions count too."""
    package = ["ui", *path.relative_to(root).parts[:-1]]
    targets: list[str] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module == "ui":
                targets.extend(f"ui.{a.name}" for a in node.names)
            else:
                targets.append(module)
    return [t for t in targets if t == "ui" or t.startswith("ui.")]


def _screens(root: Path) -> set[str]:
    """Every package under ui/ but the shell and the shared widgets is a screen; a new
    one (ui/sync/, ui/dashboard/) is held to the rule the day it appears."""
    return {p.parent.name for p in root.glob("*/__init__.py")} - {SHELL, WIDGETS}


def layout_offenders(root: Path = UI) -> list[str]:
    """Imports that break the layout: a screen may import its own folder, ui/widgets and
    ui/bridge.py; ui/widgets only itself; ui/bridge.py nothing from ui/. The shell (and
    the screenshot tool) may import anything: it is where screens are put together."""
    screens = _screens(root)
    allowed_for: dict[str, set[str]] = {"bridge": set(), WIDGETS: {WIDGETS}}
    allowed_for.update({s: {s, WIDGETS, "bridge"} for s in screens})
    offenders = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        source = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        allowed = allowed_for.get(source)
        if allowed is None:
            continue
        offenders.extend(
            f"ui/{rel.as_posix()}: {target}" for target in _ui_targets(path, root)
            if (target.split(".") + [""])[1] not in allowed)
    return offenders


def test_screens_meet_only_in_the_shell() -> None:
    """A person fixing one screen opens one folder: screens share only ui/widgets and the
    bridge, and only the shell knows them all."""
    assert {"decisions", "followups", "form", "vault"} <= _screens(UI)
    assert layout_offenders() == []


def test_layout_rule_catches_each_way_round_it(tmp_path: Path) -> None:
    """The checker itself: each forbidden import, written the ways Python allows."""
    files = {
        "bridge.py": "from ui.widgets import dialogs\n",
        "shell/__init__.py": "", "shell/main_window.py": "from ui.followups import panel\n",
        "widgets/__init__.py": "", "widgets/dialogs.py": "from ui.shell import app\n",
        "followups/__init__.py": "",
        "followups/panel.py": ("from ui.followups.model import M\nfrom ui.widgets import x\n"
                               "from ui.bridge import Bridge\n"
                               "def late():\n    from ui.decisions.model import when\n"),
        "followups/model.py": "from ..decisions import model\nfrom . import panel\n",
        "decisions/__init__.py": "", "decisions/model.py": "from ui import form\n",
        "form/__init__.py": "", "form/sections.py": "import ui.shell.app\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert layout_offenders(tmp_path) == [
        "ui/bridge.py: ui.widgets",
        "ui/decisions/model.py: ui.form",
        "ui/followups/model.py: ui.decisions",
        "ui/followups/panel.py: ui.decisions.model",
        "ui/form/sections.py: ui.shell.app",
        "ui/widgets/dialogs.py: ui.shell",
    ]


def test_ui_has_no_loose_modules() -> None:
    """ui/'s top level holds only the bridge and the screenshot tool; every screen's code
    is in its folder."""
    assert sorted(p.name for p in UI.glob("*.py")) == ["__init__.py", "bridge.py",
                                                       "screenshots.py"]


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
