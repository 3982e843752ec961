"""Keyboard benchmark: a typical share recorded by keys alone, in the real form and vault.

    python -m bench.bench_form

Reports (merged into bench/results.json): ``form_share_nontext_keys``, the keys pressed
that are not typed text (target: under 30), and ``form_share_tab_keys``, how many of
them were Tab. The script is ``bench.form_keys.record_typical_share``, the same one the
test runs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import merge_results, print_table  # noqa: E402

TARGET_KEYS = 30


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="sharelog-bench-form-"))
    os.environ["SHARELOG_HOME"] = str(home)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app import session
    from bench.common import PASSPHRASE
    from bench.form_keys import Keyboard, record_typical_share
    from ui.bridge import Bridge
    from ui.form.decision_form import DecisionForm
    from ui.shell.app import configure

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    configure(app, "light")
    service = session.create_vault("Sam Worker", PASSPHRASE, base=home)
    bridge = Bridge(service)
    form = DecisionForm(bridge)
    form.resize(1000, 800)
    form.show()
    form.activateWindow()
    if not QTest.qWaitForWindowActive(form, 5000):
        print("the form's window never became active", file=sys.stderr)
        return 1
    saved: list[str] = []
    loop = QEventLoop()
    form.saved.connect(saved.append)
    form.saved.connect(loop.quit)
    QTimer.singleShot(30_000, loop.quit)
    count = record_typical_share(form, Keyboard())
    if not saved:
        loop.exec()  # the save runs on the vault worker; its answer comes back here
    bridge.wait_idle()
    if not saved or service.decision_count() != 1:
        print("the share was not saved", file=sys.stderr)
        return 1
    figures = {"form_share_nontext_keys": count.nontext, "form_share_tab_keys": count.tabs}
    merge_results(figures)
    print_table([
        ("form_share_nontext_keys (keys that are not typed text)", count.nontext, "keys",
         f"< {TARGET_KEYS}", count.nontext < TARGET_KEYS),
        ("form_share_tab_keys", count.tabs, "keys", "", None),
    ], title="Recording a typical share by keyboard")
    form.close()
    bridge.shutdown(wait_tasks=True)
    service.lock()
    return 0 if count.nontext < TARGET_KEYS else 1


if __name__ == "__main__":
    raise SystemExit(main())
