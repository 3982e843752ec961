"""PDF export: every version with author, time and reason; owner-only; atomic."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QWidget

from tests.conftest import make_share
from ui import dialogs, export_pdf


@pytest.fixture
def corrected(service) -> str:
    record_id = service.record_decision(make_share())
    service.correct_decision(record_id, make_share(information="Corrected observations"),
                             "The visit date was wrong.")
    return record_id


def _owner_only(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_render_pdf_has_both_versions_and_is_owner_only(qapp, tmp_path, service, corrected) -> None:
    data = export_pdf.collect_records(service, [corrected])
    html = export_pdf.build_html(data)
    assert "Version 1: Recorded" in html
    assert "Version 2: Correction" in html
    assert "The visit date was wrong." in html
    assert "Sam Worker" in html  # the author of each version
    assert "Verified: all" in html  # the integrity status
    assert "not encrypted" in html
    assert "Corrected observations" in html and "Observations from the home visit" in html

    out = export_pdf.render_pdf(tmp_path / "out" / "export.pdf", data)
    assert out.read_bytes().startswith(b"%PDF")
    assert _owner_only(out)
    assert [p.name for p in out.parent.iterdir()] == ["export.pdf"]  # no temp left behind
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "Version 2" in text and "The visit date was wrong." in text


def test_render_replaces_an_existing_file_atomically(qapp, tmp_path, service, corrected) -> None:
    target = tmp_path / "export.pdf"
    target.write_bytes(b"old")
    target.chmod(0o644)
    export_pdf.render_pdf(target, export_pdf.collect_records(service, [corrected]))
    assert target.read_bytes().startswith(b"%PDF")
    assert _owner_only(target)


def test_html_is_escaped(qapp, service) -> None:
    record_id = service.record_decision(make_share(reasons="<script>x</script> & more"))
    html = export_pdf.build_html(export_pdf.collect_records(service, [record_id]))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_default_file_name_is_neutral() -> None:
    import datetime as dt

    assert export_pdf.default_file_name(dt.date(2026, 11, 25)) == \
        "sharelog-export-2026-11-25.pdf"


def test_export_records_through_the_ui(qtbot, tmp_path, bridge, corrected, monkeypatch) -> None:
    warned = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: warned.append(a[2]) or True)
    offered = []

    def save_as(parent, caption, default, filters):
        offered.append(Path(default).name)
        return str(tmp_path / "chosen"), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    job = export_pdf.export_records(None, bridge, [corrected])
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=20_000) as finished:
        pass
    path = Path(finished.args[0])
    assert path == tmp_path / "chosen.pdf"
    assert path.read_bytes().startswith(b"%PDF") and _owner_only(path)
    assert "NOT be encrypted" in warned[0]
    assert offered[0].startswith("sharelog-export-") and "Alice" not in offered[0]


def test_export_subject_by_case_ref(qtbot, tmp_path, bridge, service, corrected,
                                    monkeypatch) -> None:
    service.record_decision(make_share(information="Another share about the same child"))
    data = export_pdf.collect_subject(service, "C100200")
    assert len(data["records"]) == 2
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: True)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a: (str(tmp_path / "case.pdf"), ""))
    parent = QWidget()
    qtbot.addWidget(parent)
    job = export_pdf.export_subject(parent, bridge, "C100200")
    with qtbot.waitSignal(job.finished, timeout=20_000):
        pass
    assert (tmp_path / "case.pdf").read_bytes().startswith(b"%PDF")


def test_declining_the_warning_writes_nothing(tmp_path, bridge, corrected, monkeypatch) -> None:
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: False)
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: asked.append(a) or ("", ""))
    assert export_pdf.export_records(None, bridge, [corrected]) is None
    assert asked == []


def test_rendering_on_the_task_pool_prints_no_qt_timer_warnings(qtbot, qtlog, tmp_path, bridge,
                                                               service, corrected) -> None:
    """Laying out on a plain worker thread used to print dozens of QBasicTimer warnings."""
    data = export_pdf.collect_records(service, [corrected] * 40)  # long enough to lay out lazily
    done = []
    bridge.task(lambda: export_pdf.render_pdf(tmp_path / "x.pdf", data), done.append,
                done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=30_000)
    assert done == [tmp_path / "x.pdf"]
    assert [r.message for r in qtlog.records if "QBasicTimer" in r.message] == []
