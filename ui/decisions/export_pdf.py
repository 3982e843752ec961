"""Export records to PDF: every version with who, when, why, and whether it is intact.

Three parts, each testable on its own:

- ``collect_records`` / ``collect_subject`` run on the vault worker (``bridge.read``)
  and return plain data;
- the PDF is laid out with QTextDocument and painted with QPdfWriter on the GUI
  thread, in short steps (``_write_pdf``) that ``ExportJob`` runs from a timer so the
  window stays responsive, while the file goes through ``app.files.atomic_path`` on
  the task pool (``bridge.task``): an owner-only temp file in the target folder,
  fsync, then an atomic replace; ``render_pdf(path, data)`` runs the same steps all at
  once. The layout is a list of ``Piece``s (headings, paragraphs, table rows) that a
  page break never cuts; each record starts a page, and every page is numbered and
  says who exported it and when;
- ``export_records`` / ``export_subject`` are the UI: a plain warning that the
  PDF is not encrypted, a save dialog with a neutral file name, then the above.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QBuffer,
    QCoreApplication,
    QIODevice,
    QMarginsF,
    QObject,
    QPointF,
    QRectF,
    QSizeF,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextBlock,
    QTextDocument,
)
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.files import atomic_path
from app.integrity import WHAT_WORDS
from app.model import DecisionRecord, SearchFilters
from ui.bridge import Bridge
from ui.decisions.record_words import headline, record_rows
from ui.widgets import dialogs
from ui.widgets.dates import format_when
from ui.widgets.plural import counted

CONTEXT = "export"


def _t(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def default_file_name(today: dt.date | None = None) -> str:
    """A name that says nothing about anyone."""
    return f"sharelog-export-{(today or dt.date.today()).isoformat()}.pdf"


# -- collecting (vault worker) ------------------------------------------------------
def collect_records(service: Any, record_ids: list[str]) -> dict[str, Any]:
    """Everything the PDF shows for these records, as plain data."""
    records = []
    for record_id in record_ids:
        detail = service.get_decision(record_id)
        report = service.verify_record(record_id)
        versions = [{
            "number": v.number,
            "kind": v.kind,
            "author": v.author_name,
            "device": v.device_id,
            "at": v.at,
            "reason": v.reason,
            "record": v.record.to_dict() if v.record is not None else None,
        } for v in service.versions(record_id)]
        followups = []
        for fu in detail.followups:
            history = [{"kind": c.kind, "at": c.at, "detail": c.detail}
                       for c in service.followup_history(fu.followup_id)]
            followups.append({"title": fu.title, "due": fu.due_date.isoformat(),
                              "state": fu.state, "outcome": fu.outcome or "",
                              "cancel_reason": fu.cancel_reason or "", "history": history})
        records.append({
            "record_id": record_id,
            "status": detail.status,
            "created_at": detail.created_at,
            "has_conflict": detail.has_conflict,
            "integrity": {"ok": report.ok, "events": report.events_checked,
                          "problems": sorted({p.what for p in report.problems}
                                             | ({"shown"} if report.drift else set()))},
            "versions": versions,
            "followups": followups,
        })
    return {
        "exported_at": dt.datetime.now().isoformat(timespec="minutes"),
        "exported_by": service.identity.display_name,
        "records": records,
    }


def collect_subject(service: Any, case_ref: str) -> dict[str, Any]:
    """Every record about one case reference, oldest first."""
    summaries = service.list_decisions(
        SearchFilters(subject_case_ref=case_ref.strip(), include_withdrawn=True))
    ordered = sorted(summaries, key=lambda s: (s.decided_at, s.record_id))
    data = collect_records(service, [s.record_id for s in ordered])
    data["case_ref"] = case_ref.strip()
    return data


# -- laying out ---------------------------------------------------------------------
def _record_rows(record: DecisionRecord, written_at: str = "") -> list[tuple[str, str]]:
    """The record's rows: the detail pane's words (``ui.decisions.record_words``), as one table."""
    return record_rows(record, written_at)


def _integrity_words(integrity: dict[str, Any]) -> str:
    if integrity["ok"]:
        return counted(integrity["events"],
                       _t("Verified: this record's one saved change is intact (nothing "
                          "altered or removed)."),
                       _t("Verified: all %1 changes to this record are intact (nothing "
                          "altered, removed or reordered)."))
    what = "; ".join(_t(WHAT_WORDS.get(w, w)) for w in integrity["problems"])
    return _t("INTEGRITY PROBLEM: {what}.").format(what=what)


VERSION_KINDS = {
    "decision.create": "Recorded",
    "decision.correct": "Correction",
    "decision.withdraw": "Withdrawn",
}
FOLLOWUP_STATES = {"open": "Open", "done": "Done", "cancelled": "Cancelled"}


def _text(value: str) -> str:
    return html.escape(value).replace("\n", "<br/>")


def _when(value: str) -> str:
    """A stored date or date-time as dates read everywhere in Sharelog ("2 Nov 2026 10:30")."""
    return format_when(value.replace(" ", "T")[:16]) if value else ""


BODY_STYLE = "font-family: sans-serif; font-size: 9pt;"


# -- what heads each record --------------------------------------------------------
def decision_headline(record: DecisionRecord) -> str:
    """What was decided, in words, for the heading of a record in the PDF: the same
    headline as the detail pane's title (``ui.decisions.record_words.headline``)."""
    return headline(record)


def _latest_record(rec: dict[str, Any]) -> DecisionRecord | None:
    for version in reversed(rec["versions"]):
        if version["record"] is not None:
            return DecisionRecord.from_dict(version["record"])
    return None


def record_who(rec: dict[str, Any]) -> str:
    """Who a record is about and their case references ("Alice Example · C100200")."""
    record = _latest_record(rec)
    if record is None:
        return _t("Record")
    names = [s.name for s in record.subjects if s.name]
    refs = [s.case_ref for s in record.subjects if s.case_ref]
    who = _t(" and ").join(names) if len(names) < 3 else ", ".join(names)
    return " · ".join(p for p in (who or _t("Person not named"), ", ".join(refs)) if p)


# -- the pieces of a page --------------------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """One thing a page break must not cut: a heading, a paragraph or a table row.

    ``keep`` keeps it on the same page as the piece after it (a heading and what it
    heads). Rows with the same ``table`` form one table until a page break splits it.
    """

    html: str
    tag: str = "p"  # "h1", "h2", "h3", "p" or "row"
    label: str = ""
    keep: bool = False
    table: int = 0


def title_pieces(data: dict[str, Any]) -> list[Piece]:
    intro = _t("Exported {when} by {who}.").format(when=_when(data["exported_at"]),
                                                  who=data["exported_by"])
    intro += " " + counted(len(data["records"]), _t("1 record."), _t("%1 records."))
    pieces = [Piece(_text(_t("Sharelog export")), "h1", keep=True), Piece(_text(intro))]
    if data.get("case_ref"):
        pieces.append(Piece(_text(_t("Case reference: {ref}").format(ref=data["case_ref"]))))
    pieces.append(Piece("<b>" + _text(_t(
        "This file is not encrypted. Keep it only where it is protected, share it only "
        "securely, and delete it when it is no longer needed.")) + "</b>"))
    return pieces


def record_pieces(rec: dict[str, Any]) -> list[Piece]:
    """A record: who it is about, what was decided, its status, then every version."""
    record = _latest_record(rec)
    withdrawn = rec["status"] == "withdrawn"
    pieces = [Piece(_text(record_who(rec)), "h2", keep=True)]
    if record is not None:
        decided = _t("{headline} · {when}").format(headline=decision_headline(record),
                                                   when=_when(record.decided_at))
        if withdrawn:
            decided += " · " + _t("WITHDRAWN")
        pieces.append(Piece(f"<b>{_text(decided)}</b>", keep=True))
    status = _t("Withdrawn") if withdrawn else _t("Active")
    colour = "#1b5e20" if rec["integrity"]["ok"] else "#b00020"
    lines = [_text(_t("Status: {status}. {versions}. Sharelog reference {id}.").format(
        status=status, id=rec["record_id"],
        versions=counted(len(rec["versions"]), _t("1 version"), _t("%1 versions")))),
        f"<span style='color: {colour};'>{_text(_integrity_words(rec['integrity']))}</span>"]
    if rec["has_conflict"]:
        lines.append(_text(_t("Two versions were made at the same time on different devices; "
                              "both are shown below.")))
    pieces.append(Piece("<br/>".join(lines)))
    for table, v in enumerate(rec["versions"], start=1):
        kind = _t(VERSION_KINDS.get(v["kind"], v["kind"]))
        heading = _t("Version {n}: {kind}").format(n=v["number"], kind=kind)
        pieces.append(Piece(_text(heading), "h3", keep=True))
        who = _t("By {author} on {at}, on device {device}.").format(
            author=v["author"], at=_when(v["at"]), device=v["device"][:8])
        if v["reason"]:
            who = _text(who) + "<br/><b>" + _text(_t("Reason:")) + "</b> " + _text(v["reason"])
        else:
            who = _text(who)
        rows = [] if v["record"] is None else _record_rows(
            DecisionRecord.from_dict(v["record"]), v["at"])
        pieces.append(Piece(who, keep=bool(rows)))
        pieces.extend(Piece(_text(value), "row", label=_text(label), table=table)
                      for label, value in rows)
    if rec["followups"]:
        pieces.append(Piece(_text(_t("Follow-ups")), "h3", keep=True))
        for fu in rec["followups"]:
            line = _t("{title}: due {due}, {state}").format(
                title=_t(fu["title"]), due=_when(fu["due"]),
                state=_t(FOLLOWUP_STATES.get(fu["state"], fu["state"])).lower())
            if fu["outcome"]:
                line += " " + _t("(outcome: {text})").format(text=fu["outcome"])
            if fu["cancel_reason"]:
                line += " " + _t("(reason: {text})").format(text=fu["cancel_reason"])
            for c in fu["history"]:
                if c["kind"] == "followup.reschedule":
                    line += " " + _t("[rescheduled from {old} to {new}]").format(
                        old=_when(c["detail"].get("previous_due_date", "")),
                        new=_when(c["detail"].get("due_date", "")))
            pieces.append(Piece("• " + _text(line)))
    return pieces


TABLE = "<table border='1' cellspacing='0' cellpadding='3' width='100%'{brk}>"
ROW_PAD = 4  # a row's cell padding and border, outside its text


def assemble(pieces: list[Piece], breaks: frozenset[int] | set[int] = frozenset()) -> str:
    """The pieces as HTML, each marked with an anchor ("u<n>") so its place on the page
    can be found, and a page break before each piece in ``breaks`` (a table is split
    there and carries on on the next page)."""
    out: list[str] = []
    table = 0
    for n, piece in enumerate(pieces):
        brk = " style='page-break-before: always'" if n in breaks else ""
        anchor = f"<a name='u{n}'></a>"
        if piece.tag == "row":
            if table != piece.table or brk:
                if table:
                    out.append("</table>")
                out.append(TABLE.format(brk=brk))
                table = piece.table
            out.append(f"<tr><td width='30%'>{anchor}<b>{piece.label}</b></td>"
                       f"<td>{piece.html}</td></tr>")
            continue
        if table:
            out.append("</table>")
            table = 0
        out.append(f"<{piece.tag}{brk}>{anchor}{piece.html}</{piece.tag}>")
    if table:
        out.append("</table>")
    return "".join(out)


def build_html(data: dict[str, Any]) -> str:
    """The whole export as one HTML page (QTextDocument's subset): escaped, no external
    resources. The PDF lays the same pieces out a record at a time (``render_pdf``)."""
    pieces = title_pieces(data)
    for rec in data["records"]:
        pieces += record_pieces(rec)
    return f"<html><body style='{BODY_STYLE}'>" + assemble(pieces) + "</body></html>"


# -- pages ---------------------------------------------------------------------------
LAYOUT_DPI = 96  # text is laid out at screen resolution and scaled to the printer's
PRINT_DPI = 300


def _layout_device() -> QImage:
    """A fixed 96 dpi device for the layout, so a PDF does not depend on the screen."""
    device = QImage(1, 1, QImage.Format.Format_RGB32)
    dots_per_metre = round(LAYOUT_DPI / 0.0254)
    device.setDotsPerMeterX(dots_per_metre)
    device.setDotsPerMeterY(dots_per_metre)
    return device


def _document(body: str, page: QSizeF, device: QImage) -> QTextDocument:
    document = QTextDocument()
    document.documentLayout().setPaintDevice(device)
    document.setDocumentMargin(0)
    document.setDefaultStyleSheet(f"body {{ {BODY_STYLE} }}")
    font = document.defaultFont()
    font.setFamily("sans-serif")
    font.setPointSizeF(9)
    document.setDefaultFont(font)
    document.setPageSize(page)
    document.setHtml(f"<html><body>{body}</body></html>")
    return document


def _anchor(block: QTextBlock) -> int | None:
    fragments = block.begin()
    while not fragments.atEnd():
        for name in fragments.fragment().charFormat().anchorNames():
            if name.startswith("u") and name[1:].isdigit():
                return int(name[1:])
        fragments += 1
    return None


def piece_extents(document: QTextDocument, pieces: list[Piece]) -> dict[int, tuple[float, float]]:
    """Where each piece is laid out: its top and bottom in the paginated document."""
    layout = document.documentLayout()
    spans: dict[int, tuple[float, float]] = {}
    current = -1
    block = document.begin()
    while block.isValid():
        found = _anchor(block)
        if found is not None:
            current = found
        if current >= 0 and block.length() > 1:
            rect = layout.blockBoundingRect(block)
            top, bottom = spans.get(current, (rect.top(), rect.bottom()))
            spans[current] = (min(top, rect.top()), max(bottom, rect.bottom()))
        block = block.next()
    return {n: (top - ROW_PAD, bottom + ROW_PAD) if pieces[n].tag == "row" else (top, bottom)
            for n, (top, bottom) in spans.items()}


def _page_break_needed(pieces: list[Piece], extents: dict[int, tuple[float, float]],
                       height: float, breaks: set[int], cut: set[int]) -> int | None:
    """The first piece a page break cuts, moved back over the headings that keep with
    it: where the next page must start. Pieces taller than a page are left to split."""
    for n in sorted(extents):
        top, bottom = extents[n]
        if n in cut or int(top // height) == int((bottom - 0.5) // height):
            continue
        start = n
        while start - 1 > 0 and pieces[start - 1].keep and start - 1 not in breaks:
            start -= 1
        first_top = extents.get(start, (top, bottom))[0]
        at_page_top = first_top - (first_top // height) * height < 1
        if bottom - first_top > height * 0.95 or start in breaks or start <= 0 or at_page_top:
            cut.add(n)  # nothing to gain: it would not fit on a page of its own either
            continue
        return start
    return None


def lay_out(pieces: list[Piece], page: QSizeF,
            device: QImage) -> Generator[None, None, tuple[QTextDocument, str]]:
    """Lay the pieces out on pages of ``page``'s size, starting a page before every
    piece (or the headings above it) that would otherwise be cut by a page break.
    Returns (``yield from``) the document and its HTML, with a step between passes: a
    long record is laid out in full a few times, about 50 ms each for seven pages."""
    breaks: set[int] = set()
    cut: set[int] = set()
    while True:
        body = assemble(pieces, breaks)
        document = _document(body, page, device)
        start = _page_break_needed(pieces, piece_extents(document, pieces), page.height(),
                                   breaks, cut)
        if start is None:
            return document, body
        breaks.add(start)
        del document
        yield


# -- writing (GUI thread, in steps) -------------------------------------------------
def _mm(value: float) -> float:
    return value / 25.4 * PRINT_DPI


def _write_pdf(out: QIODevice, data: dict[str, Any]) -> Generator[None, None, None]:
    """The PDF written to ``out`` in steps: each ``next()`` lays out one record (a pass
    of ``lay_out``) or draws one page. Every record starts on a new page; every page says
    which page of how many, who exported it and when, and (after a record's first page)
    whom the record is about.

    Run it on the GUI thread. QTextDocument and QPainter belong to Qt's GUI module, and
    PySide holds the GIL through their calls: driven from a second thread, one of them
    (``documentLayout()``) waited for a Qt signal-slot mutex while holding the GIL, as the
    GUI thread held that mutex in a disconnect and waited for the GIL, and the application
    froze for good. The steps are short (a step is at most one record laid out once: one
    setHtml of a whole 200-record export held the thread for 230 ms), so whoever drives
    them gives the event loop a turn between them (``ExportJob``). Closing the generator
    part way ends the painter cleanly.
    """
    writer = QPdfWriter(out)
    writer.setTitle(_t("Sharelog export"))  # never a name: titles show in file managers
    writer.setCreator("Sharelog")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 12, 15, 10),
                                     QPageLayout.Unit.Millimeter))
    writer.setResolution(PRINT_DPI)
    paper = writer.pageLayout().paintRectPixels(PRINT_DPI)
    header, footer = _mm(8), _mm(9)
    body = QRectF(0, header, paper.width(), paper.height() - header - footer)
    scale = PRINT_DPI / LAYOUT_DPI
    page = QSizeF(body.width() / scale, body.height() / scale)
    device = _layout_device()

    # First every record's pages are counted, then drawn ("Page 2 of 5" needs the 5).
    records = data["records"] or [None]
    laid: list[tuple[str, int, str]] = []
    for n, rec in enumerate(records):
        pieces = title_pieces(data) if n == 0 else []
        if rec is not None:
            pieces += record_pieces(rec)
        document, html_body = yield from lay_out(pieces, page, device)
        laid.append((html_body, document.pageCount(), record_who(rec) if rec else ""))
        del document
        yield
    total = sum(pages for _body, pages, _who in laid)
    footer_left = _t("Exported {when} by {who} · not encrypted").format(
        when=_when(data["exported_at"]), who=data["exported_by"])

    painter = QPainter(writer)
    try:
        number = 0
        for html_body, pages, who in laid:
            document = _document(html_body, page, device)
            for p in range(pages):
                if number:
                    writer.newPage()
                number += 1
                painter.save()
                painter.translate(body.topLeft())
                painter.scale(scale, scale)
                painter.translate(0, -p * page.height())
                document.drawContents(painter, QRectF(0, p * page.height(), page.width(),
                                                      page.height()))
                painter.restore()
                running = _t("{who} (continued)").format(who=who) if p and who else ""
                _page_furniture(painter, paper.width(), paper.height(), header, footer,
                                running, footer_left,
                                _t("Page {n} of {total}").format(n=number, total=total))
                yield
    finally:
        painter.end()


def _pdf_buffer() -> QBuffer:
    """Where the steps write: memory, so that the GUI thread never waits on the disk."""
    out = QBuffer()
    out.open(QIODevice.OpenModeFlag.WriteOnly)
    return out


class _Temporary:
    """The owner-only temporary file beside an export's target (``app.files.atomic_path``).

    Made and ended on the task pool, where the disk is waited on, and taken away from
    the GUI thread when the export fails or is abandoned: plain Python (no Qt object is
    touched off the GUI thread), and whoever takes it first, under the lock, ends it.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._made: tuple[contextlib.ExitStack, Path] | None = None
        self._taken = False

    def open(self) -> Path:
        """Make the file (an export to a folder that cannot take it fails before any
        layout)."""
        stack = contextlib.ExitStack()
        tmp = stack.enter_context(atomic_path(self.target, prefix=".sharelog-export-",
                                              suffix=".part"))
        with self._lock:
            if not self._taken:
                self._made = stack, tmp
                return tmp
        _discard(stack)  # abandoned while it was being made
        raise _Abandoned()

    def commit(self, pdf: bytes) -> Path:
        """Write the PDF into the file, fsync it and put it in the target's place; on any
        error the file is removed and the target left as it was."""
        made = self.take()
        if made is None:
            raise _Abandoned()
        stack, tmp = made
        with stack:
            if not pdf.startswith(b"%PDF"):
                raise OSError("the PDF could not be written")
            tmp.write_bytes(pdf)
        return self.target

    def take(self) -> tuple[contextlib.ExitStack, Path] | None:
        """The file, for the one caller that ends it; a file made after this is removed
        at once."""
        with self._lock:
            self._taken = True
            made, self._made = self._made, None
            return made

    def discard(self) -> None:
        """Remove the file, if it is still there to remove (a disk call)."""
        made = self.take()
        if made is not None:
            _discard(made[0])


class _Abandoned(Exception):
    """An export given up at quit: nothing to tell anyone."""


def _discard(stack: contextlib.ExitStack) -> None:
    """End ``atomic_path`` as a failed block ends it: the file goes, the target stays."""
    error = _Abandoned()
    stack.__exit__(type(error), error, None)


def _page_furniture(painter: QPainter, width: float, height: float, header: float,
                    footer: float, running: str, left: str, right: str) -> None:
    """The line at the top of a continued record and the footer of every page."""
    font = QFont("sans-serif")
    font.setPointSizeF(7.5)
    painter.save()
    painter.setFont(font)
    painter.setPen(QColor("#3c4043"))
    metrics = QFontMetricsF(font, painter.device())
    line = metrics.height()
    if running:
        painter.drawText(QRectF(0, 0, width, line), Qt.AlignmentFlag.AlignLeft,
                         metrics.elidedText(running, Qt.TextElideMode.ElideRight, width))
    top = height - footer + _mm(2)
    painter.drawLine(QPointF(0, top), QPointF(width, top))
    room = width - metrics.horizontalAdvance(right) - _mm(5)
    painter.drawText(QRectF(0, top + _mm(1), room, line), Qt.AlignmentFlag.AlignLeft,
                     metrics.elidedText(left, Qt.TextElideMode.ElideRight, room))
    painter.drawText(QRectF(0, top + _mm(1), width, line), Qt.AlignmentFlag.AlignRight, right)
    painter.restore()


def render_pdf(path: Path | str, data: dict[str, Any]) -> Path:
    """Write the PDF atomically with owner-only permissions, all at once, on the calling
    (GUI) thread: the same steps as ``ExportJob``, which runs them a few at a time."""
    temporary = _Temporary(Path(path))
    temporary.open()
    try:
        out = _pdf_buffer()
        for _step in _write_pdf(out, data):
            pass
        pdf = out.data().data()
    except BaseException:
        temporary.discard()
        raise
    return temporary.commit(pdf)


# -- the UI -----------------------------------------------------------------------------
STEP_BUDGET_S = 0.010  # steps run for about this long, then the event loop has a turn

# Running exports. A job has no Qt parent (a window closed meanwhile must not take a
# running export down with it), and a QTimer's connection does not keep it alive.
_running: set[ExportJob] = set()


class ExportJob(QObject):
    """One export in flight; tells whoever cares when it ends.

    The data is collected on the vault worker, the temporary file made on the task pool,
    the PDF laid out and drawn on the GUI thread in steps (``_write_pdf``) from a
    zero-interval timer, then written, fsynced and put in place on the task pool again.
    At quit, an export still running is abandoned and its temporary file removed.
    """

    finished = Signal(str)  # path
    failed = Signal(str)  # message

    def __init__(self, parent: QWidget | None, bridge: Bridge, path: Path) -> None:
        super().__init__(None)
        self.parent_widget = parent
        self.bridge = bridge
        self.path = path
        self._temporary = _Temporary(path)
        self._out: QBuffer | None = None
        self._steps: Generator[None, None, None] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)
        self._app: QCoreApplication | None = None

    def run(self, collect: Any) -> None:
        _running.add(self)
        self._app = QCoreApplication.instance()
        if self._app is not None:
            self._app.aboutToQuit.connect(self.abandon)
        self.bridge.read(collect, self._render, self._fail)

    @Slot()
    def abandon(self) -> None:
        """Stop where it is and remove the temporary file; tell no one (the application
        is quitting). The file is removed here, not on the task pool, which is shutting
        down."""
        self._timer.stop()
        if self._steps is not None:
            self._steps.close()  # ends the painter
        self._steps = self._out = None
        self._temporary.discard()
        self._end()

    def _render(self, data: dict[str, Any]) -> None:
        if not data["records"]:
            self._fail(LookupError())
            return
        self.bridge.task(self._temporary.open, lambda _tmp: self._start(data), self._fail)

    def _start(self, data: dict[str, Any]) -> None:
        if self not in _running:
            return  # abandoned meanwhile
        self._out = _pdf_buffer()
        self._steps = _write_pdf(self._out, data)
        self._timer.start()

    @Slot()
    def _step(self) -> None:
        if self._steps is None or self._out is None:
            self._timer.stop()
            return
        if self.bridge.closed:  # its pool would refuse the file's end: nobody waits now
            self.abandon()
            return
        deadline = time.perf_counter() + STEP_BUDGET_S
        try:
            while time.perf_counter() < deadline:
                next(self._steps)
        except StopIteration:
            self._timer.stop()
            pdf = self._out.data().data()
            self._steps = self._out = None
            temporary = self._temporary
            self.bridge.task(lambda: temporary.commit(pdf), self._done, self._fail)
        except Exception as exc:  # the steps ended the painter on their way out
            self._timer.stop()
            self._steps = self._out = None
            self._fail(exc)

    def _done(self, path: Path) -> None:
        self._end()
        self.finished.emit(str(path))
        _notify(self.parent_widget, _t("Export saved"),
                _t("The PDF was saved. Remember that it is not encrypted."))

    def _fail(self, error: BaseException) -> None:
        if isinstance(error, _Abandoned):
            return
        made = self._temporary.take()  # None if it failed on the pool: already removed
        if made is not None:
            stack = made[0]
            if self.bridge.closed:
                _discard(stack)
            else:
                self.bridge.task(lambda: _discard(stack))
        self._end()
        if isinstance(error, LookupError):
            message = _t("There was nothing to export.")
        elif isinstance(error, OSError):
            message = _t("The PDF could not be saved there. Choose another folder and try "
                         "again.")
        else:
            message = dialogs.error_text(error)
        self.failed.emit(message)
        _notify(self.parent_widget, _t("Export failed"), message, warning=True)

    def _end(self) -> None:
        if self in _running:
            _running.discard(self)
            if self._app is not None:
                self._app.aboutToQuit.disconnect(self.abandon)


def _notify(parent: QWidget | None, title: str, text: str, *, warning: bool = False) -> None:
    if parent is None or not shiboken6.isValid(parent):
        return
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Information
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()  # not exec(): the app keeps running while the message shows


def _ask_path(parent: QWidget | None) -> Path | None:
    if not dialogs.confirm(
            parent, _t("Export to PDF"),
            _t("The PDF will NOT be encrypted. Anyone who gets the file can read the "
               "records in it, including names and reasons.\n\nSave it only somewhere "
               "protected, share it only securely, and delete it when it is no longer "
               "needed."),
            ok_text=_t("Continue")):
        return None
    folder = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.DocumentsLocation)
    if not folder or not Path(folder).is_dir():  # never the program's own folder
        folder = str(Path.home())
    chosen, _filter = QFileDialog.getSaveFileName(
        parent, _t("Save the PDF export"), str(Path(folder) / default_file_name()),
        _t("PDF files (*.pdf)"))
    if not chosen:
        return None
    path = Path(chosen)
    if path.suffix.lower() != ".pdf":
        path = path.with_name(path.name + ".pdf")
    return path


def export_records(parent: QWidget | None, bridge: Bridge,
                   record_ids: list[str]) -> ExportJob | None:
    """Export these records (every version) to a PDF the person chooses."""
    ids = list(record_ids)
    if not ids:
        return None
    path = _ask_path(parent)
    if path is None:
        return None
    job = ExportJob(parent, bridge, path)
    job.run(lambda s: collect_records(s, ids))
    return job


def export_subject(parent: QWidget | None, bridge: Bridge, case_ref: str) -> ExportJob | None:
    """Export every record about one case reference (the audit question)."""
    ref = case_ref.strip()
    if not ref:
        return None
    path = _ask_path(parent)
    if path is None:
        return None
    job = ExportJob(parent, bridge, path)
    job.run(lambda s: collect_subject(s, ref))
    return job
