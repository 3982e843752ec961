"""PDF export: every version with author, time and reason; owner-only; atomic."""

from __future__ import annotations

import datetime as dt
import stat
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QWidget

from app.model import Subject
from tests.conftest import make_share
from ui.decisions import export_pdf
from ui.widgets import dialogs


@pytest.fixture
def corrected(service) -> str:
    record_id = service.record_decision(make_share())
    service.correct_decision(record_id, make_share(information="Corrected observations"),
                             "The visit date was wrong.",
                                 parents=service.get_decision(record_id).heads)
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
    text = "\n".join(_pages(out))
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


def _choose(monkeypatch, path: Path) -> None:
    """The person accepts the warning and chooses ``path`` in the save dialog."""
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: True)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(path), ""))


def _calls(monkeypatch, name: str = "_document") -> list[threading.Thread]:
    """The thread of each call, as they are made, of one of the export's pieces: by
    default the building of a QTextDocument, or ``_page_furniture`` (a page drawn)."""
    calls: list[threading.Thread] = []
    piece = getattr(export_pdf, name)

    def counted(*args):
        calls.append(threading.current_thread())
        return piece(*args)

    monkeypatch.setattr(export_pdf, name, counted)
    return calls


def test_an_export_is_drawn_on_the_gui_thread_in_steps_and_the_window_keeps_running(
        qtbot, qtlog, tmp_path, bridge, corrected, monkeypatch) -> None:
    """Qt's text layout driven from a second thread froze the application for good about
    one export in 40 (the GIL and a Qt mutex taken in opposite orders). On the GUI thread,
    a few steps at a time, the event loop runs all through the export; and there are no
    "QBasicTimer can only be used with threads started with QThread" warnings."""
    _choose(monkeypatch, tmp_path / "forty.pdf")
    built = _calls(monkeypatch)
    seen: set[int] = set()  # how many documents were built when the event loop had a turn
    heartbeat = QTimer()
    heartbeat.setInterval(0)
    heartbeat.timeout.connect(lambda: seen.add(len(built)))
    heartbeat.start()
    try:
        job = export_pdf.export_records(None, bridge, [corrected] * 40)
        with qtbot.waitSignal(job.finished, timeout=60_000) as finished:
            pass
    finally:
        heartbeat.stop()
    path = Path(finished.args[0])
    assert path.read_bytes().startswith(b"%PDF") and _owner_only(path)
    assert sum("Sharelog reference" in text for text in _pages(path)) == 40
    assert built and set(built) == {threading.main_thread()}
    turns = {n for n in seen if 0 < n < len(built)}
    assert len(turns) >= 5, f"the event loop ran only at {sorted(turns)} of {len(built)}"
    assert [r.message for r in qtlog.records if "QBasicTimer" in r.message] == []


def test_an_export_failing_part_way_keeps_the_old_file_and_leaves_no_temporary(
        qtbot, tmp_path, bridge, corrected, monkeypatch) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "export.pdf"
    target.write_bytes(b"last week's export")
    _choose(monkeypatch, target)
    furniture = export_pdf._page_furniture
    drawn: list[int] = []

    def third_page_fails(*args):
        drawn.append(1)
        if len(drawn) == 3:
            raise RuntimeError("Alice Example")  # a library's error may echo content
        furniture(*args)

    monkeypatch.setattr(export_pdf, "_page_furniture", third_page_fails)
    job = export_pdf.export_records(None, bridge, [corrected] * 5)
    with qtbot.waitSignal(job.failed, timeout=20_000) as failed:
        pass
    assert failed.args == ["Something went wrong and the change was not made. Please try "
                           "again."]
    bridge.shutdown(wait_tasks=True)  # the temporary file is removed on the task pool
    assert [p.name for p in folder.iterdir()] == ["export.pdf"]
    assert target.read_bytes() == b"last week's export"
    assert len(drawn) == 3  # it stopped there


def test_an_export_to_a_folder_that_cannot_take_it_fails_before_any_layout(
        qtbot, tmp_path, bridge, corrected, monkeypatch) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("a file where a folder should be")
    _choose(monkeypatch, not_a_folder / "export.pdf")
    built = _calls(monkeypatch)
    job = export_pdf.export_records(None, bridge, [corrected])
    with qtbot.waitSignal(job.failed, timeout=20_000) as failed:
        pass
    assert failed.args == ["The PDF could not be saved there. Choose another folder and try "
                           "again."]
    assert built == []
    assert not_a_folder.read_text() == "a file where a folder should be"


@pytest.mark.parametrize("part_way", ["_document", "_page_furniture"],
                         ids=["laying out", "drawing"])
def test_an_export_still_running_at_quit_is_abandoned_and_its_temporary_file_removed(
        qtbot, qapp, tmp_path, bridge, corrected, monkeypatch, part_way) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    _choose(monkeypatch, folder / "export.pdf")
    calls = _calls(monkeypatch, part_way)
    job = export_pdf.export_records(None, bridge, [corrected] * 40)
    qtbot.waitUntil(lambda: len(calls) >= 3, timeout=20_000)
    assert [p.suffix for p in folder.iterdir()] == [".part"]
    qapp.aboutToQuit.emit()
    assert list(folder.iterdir()) == []
    with qtbot.assertNotEmitted(job.finished, wait=300), \
            qtbot.assertNotEmitted(job.failed, wait=300):
        pass
    assert list(folder.iterdir()) == []


# -- the PDF as a case-file document ---------------------------------------------------
def _pages(path: Path) -> list[str]:
    """The text of each page, read back from the PDF with Qt's own PDF reader."""
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    try:
        return [document.getAllText(n).text().replace("\r\n", "\n")
                for n in range(document.pageCount())]
    finally:
        document.close()


def _marked(text_id: str) -> str:
    """A long field value whose first and last words name it: a row cut by a page
    break puts them on different pages."""
    middle = " ".join(["observed and recorded at the visit"] * 9)
    return f"Qstart{text_id} {middle} Qend{text_id}"


def _long_corrected_record(service) -> tuple[str, list[str]]:
    fields = ("information", "purpose", "reasons", "person_informed_reason")
    markers: list[str] = []

    def version(n: int):
        values = {}
        for f, field in enumerate(fields):
            markers.append(f"{n}x{f}")
            values[field] = _marked(f"{n}x{f}")
        return make_share(**values)

    record_id = service.record_decision(version(1))
    for n in range(2, 7):
        service.correct_decision(record_id, version(n), f"Correction number {n}.",
                                 parents=service.get_decision(record_id).heads)
    return record_id, markers


def test_no_table_row_or_heading_is_cut_by_a_page_break(qapp, tmp_path, service) -> None:
    record_id, markers = _long_corrected_record(service)
    out = export_pdf.render_pdf(tmp_path / "long.pdf",
                                export_pdf.collect_records(service, [record_id]))
    pages = _pages(out)
    assert len(pages) >= 4
    for marker in markers:
        starts = [n for n, text in enumerate(pages) if f"Qstart{marker}" in text]
        ends = [n for n, text in enumerate(pages) if f"Qend{marker}" in text]
        assert starts == ends and len(starts) == 1, f"row {marker} runs over a page break"
    for n, text in enumerate(pages):
        body = [line for line in text.splitlines() if line.strip()][:-1]  # the footer goes
        assert not body[-1].startswith(("Version ", "By Sam Worker", "Follow-ups")), \
            f"page {n + 1} ends with a heading: {body[-1]!r}"


def test_every_page_says_which_page_who_exported_it_and_when(qapp, tmp_path, service) -> None:
    long_id, _markers = _long_corrected_record(service)
    other = service.record_decision(make_share(
        subjects=[Subject(name="Bram Other", case_ref="C300400", kind="child")]))
    data = export_pdf.collect_records(service, [long_id, other])
    exported = dt.datetime.fromisoformat(data["exported_at"])
    stamp = f"Exported {exported.day} {exported:%b %Y %H:%M} by Sam Worker"
    pages = _pages(export_pdf.render_pdf(tmp_path / "two.pdf", data))
    total = len(pages)
    assert total >= 3
    for n, text in enumerate(pages, start=1):
        assert f"Page {n} of {total}" in text
        assert stamp in text
    # Each record starts a page, headed by whom it is about, the case and the decision.
    first = next(n for n, text in enumerate(pages) if "Bram Other · C300400" in text)
    heading = [line for line in pages[first].splitlines() if line.strip()][:2]
    assert heading == ["Bram Other · C300400",
                       "Shared with Riverside Medical Centre · 2 Nov 2026 10:30"]
    assert pages[0].splitlines()[0:2] == ["Sharelog export",
                                          stamp.replace("by Sam Worker",
                                                        "by Sam Worker. 2 records.")]
    assert "Alice Example · C100200" in pages[0]
    # A record's later pages say whose record they continue; never a bare record id.
    assert all("Alice Example · C100200 (continued)" in text for text in pages[1:first])
    assert not any(f"Record {rid}" in text for text in pages for rid in (long_id, other))


def test_decision_headline_says_what_happened() -> None:
    from app.model import Counterparty

    assert export_pdf.decision_headline(make_share()) == \
        "Shared with Riverside Medical Centre"
    assert export_pdf.decision_headline(make_share(decision="not_share")) == \
        "Decided not to share with Riverside Medical Centre"
    assert export_pdf.decision_headline(make_share(decision="")) == "Decision not recorded"
    asked = make_share(direction="request_made", counterparty=Counterparty(
        name="K. Osei", organisation="Hillview Primary School"))
    assert export_pdf.decision_headline(asked) == "Asked Hillview Primary School"


def test_one_record_reads_as_one(qapp, tmp_path, service) -> None:
    record_id = service.record_decision(make_share())
    data = export_pdf.collect_records(service, [record_id])
    html = export_pdf.build_html(data)
    assert "1 record." in html and "record(s)" not in html
