"""Export records to PDF: every version with who, when, why, and whether it is intact.

Three parts, each testable on its own:

- ``collect_records`` / ``collect_subject`` run on the vault worker (``bridge.read``)
  and return plain data;
- ``render_pdf(path, data)`` lays the data out with QTextDocument and writes it
  with QPdfWriter off the GUI thread (``bridge.task``, then a QThread for Qt's
  layout timers), through ``app.files.atomic_path``: an owner-only temp file in
  the target folder, fsync, then an atomic replace;
- ``export_records`` / ``export_subject`` are the UI: a plain warning that the
  PDF is not encrypted, a save dialog with a neutral file name, then the above.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QCoreApplication,
    QMarginsF,
    QObject,
    QStandardPaths,
    Qt,
    QThread,
    Signal,
)
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextCursor, QTextDocument
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.files import atomic_path
from app.integrity import WHAT_WORDS
from app.model import (
    ADVICE_FROM,
    ART6_BASES,
    ART9_CONDITIONS,
    CATEGORIES,
    CONSENT_LABELS,
    CONSENT_REASONS,
    DECISION_LABELS,
    DIRECTION_LABELS,
    FACT_OPINION,
    METHODS,
    PERSON_INFORMED,
    SEVEN_TESTS,
    STATUTORY_GATEWAYS,
    WITHOUT_CONSENT_GROUNDS,
    DecisionRecord,
    SearchFilters,
)
from ui import dialogs
from ui.bridge import Bridge

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
def _label(choices: dict[Any, str], key: str) -> str:
    return _t(choices[key]) if key in choices else key


def _yes_no(value: bool) -> str:
    return _t("Yes") if value else _t("No")


def _record_rows(record: DecisionRecord) -> list[tuple[str, str]]:
    subjects = []
    for s in record.subjects:
        born = s.date_of_birth or s.age_band
        parts = [p for p in (s.name, born, s.kind.replace("_", " "), s.case_ref) if p]
        subjects.append(", ".join(parts))
    cp = record.counterparty
    tests = ", ".join(f"{_t(label)}: {_yes_no(bool(record.seven_tests.get(key)))}"
                      for key, label in SEVEN_TESTS.items()) if record.seven_tests else ""
    rows = [
        (_t("Direction"), _label(DIRECTION_LABELS, record.direction)),
        (_t("About"), "; ".join(subjects)),
        (_t("With"), ", ".join(p for p in (cp.name, cp.role, cp.organisation, cp.contact) if p)),
        (_t("Purpose"), record.purpose),
        (_t("Clear and legitimate purpose"), _yes_no(record.clear_purpose)),
        (_t("Identifies a person"), _yes_no(record.identifies_person)),
        (_t("Confidential"), _yes_no(record.confidential)),
        (_t("Information"), record.information),
        (_t("Categories"), ", ".join(_label(CATEGORIES, c) for c in record.categories)),
        (_t("Special-category data"), _yes_no(record.special_category)),
        (_t("Fact or opinion"), _label(FACT_OPINION, record.fact_or_opinion)),
        (_t("Consent"), _label(CONSENT_LABELS, record.consent)),
        (_t("Why consent was not given"), _label(CONSENT_REASONS, record.consent_reason)
         if record.consent_reason else ""),
        (_t("Ground for sharing without consent"),
         _label(WITHOUT_CONSENT_GROUNDS, record.without_consent_ground)
         if record.without_consent_ground else ""),
        (_t("Lawful basis (Article 6)"), _label(ART6_BASES, record.lawful_basis)
         if record.lawful_basis else ""),
        (_t("Article 9 condition"), _label(ART9_CONDITIONS, record.art9_condition)
         if record.art9_condition else ""),
        (_t("Statutory gateway"), _label(STATUTORY_GATEWAYS, record.statutory_gateway)
         if record.statutory_gateway else ""),
        (_t("Decision"), _label(DECISION_LABELS, record.decision)),
        (_t("Decided at"), record.decided_at.replace("T", " ")),
        (_t("Seven tests"), tests),
        (_t("Method"), _label(METHODS, record.method) if record.method else ""),
        (_t("Shared at"), record.shared_at.replace("T", " ")),
        (_t("Person informed"), _label(PERSON_INFORMED, record.person_informed)
         if record.person_informed else ""),
        (_t("Why the person was not told"), record.person_informed_reason),
        (_t("Advice sought"), _yes_no(record.advice_sought)),
        (_t("Advice from"), _label(ADVICE_FROM, record.advice_from) if record.advice_from
         else ""),
        (_t("Advice notes"), record.advice_notes),
        (_t("Identifies a third party who could come to harm"),
         _yes_no(record.third_party_identified)),
        (_t("Withheld or redacted to protect them"), record.third_party_protection),
        (_t("Reasons"), record.reasons),
    ]
    return [(k, v) for k, v in rows if v]


def _integrity_words(integrity: dict[str, Any]) -> str:
    if integrity["ok"]:
        return _t("Verified: all {n} changes to this record are intact "
                  "(nothing altered, removed or reordered).").format(n=integrity["events"])
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


BODY_STYLE = "font-family: sans-serif; font-size: 9pt;"


def build_html(data: dict[str, Any]) -> str:
    """The export as one HTML page (QTextDocument's subset): escaped, no external resources."""
    return f"<html><body style='{BODY_STYLE}'>" + "".join(html_parts(data)) + "</body></html>"


def html_parts(data: dict[str, Any]) -> list[str]:
    """The export's HTML body in pieces: the heading, then one piece per record."""
    parts: list[str] = []
    out = [f"<h1>{_text(_t('Sharelog export'))}</h1>"]
    intro = _t("Exported {when} by {who}. {count} record(s).").format(
        when=data["exported_at"].replace("T", " "), who=data["exported_by"],
        count=len(data["records"]))
    out.append(f"<p>{_text(intro)}</p>")
    if data.get("case_ref"):
        out.append(f"<p>{_text(_t('Case reference: {ref}').format(ref=data['case_ref']))}</p>")
    out.append("<p><b>" + _text(_t(
        "This file is not encrypted. Keep it only where it is protected, share it only "
        "securely, and delete it when it is no longer needed.")) + "</b></p>")
    for rec in data["records"]:
        parts.append("".join(out))
        out = ["<hr/>"]
        title = _t("Record {id}").format(id=rec["record_id"])
        out.append(f"<h2>{_text(title)}</h2>")
        status = _t("Withdrawn") if rec["status"] == "withdrawn" else _t("Active")
        out.append("<p>" + _text(_t("Status: {status}. Versions: {n}.").format(
            status=status, n=len(rec["versions"]))) + "<br/>")
        colour = "#1b5e20" if rec["integrity"]["ok"] else "#b00020"
        out.append(f"<span style='color: {colour};'>"
                   f"{_text(_integrity_words(rec['integrity']))}</span>")
        if rec["has_conflict"]:
            out.append("<br/>" + _text(_t(
                "Two versions were made at the same time on different devices; both are "
                "shown below.")))
        out.append("</p>")
        for v in rec["versions"]:
            kind = _t(VERSION_KINDS.get(v["kind"], v["kind"]))
            heading = _t("Version {n}: {kind}").format(n=v["number"], kind=kind)
            out.append(f"<h3>{_text(heading)}</h3>")
            who = _t("By {author} at {at}, on device {device}.").format(
                author=v["author"], at=v["at"].replace("T", " ")[:19], device=v["device"][:8])
            out.append(f"<p>{_text(who)}")
            if v["reason"]:
                out.append("<br/><b>" + _text(_t("Reason:")) + "</b> " + _text(v["reason"]))
            out.append("</p>")
            if v["record"] is not None:
                out.append("<table border='1' cellspacing='0' cellpadding='3' width='100%'>")
                for label, value in _record_rows(DecisionRecord.from_dict(v["record"])):
                    out.append(f"<tr><td width='30%'><b>{_text(label)}</b></td>"
                               f"<td>{_text(value)}</td></tr>")
                out.append("</table>")
        if rec["followups"]:
            out.append(f"<h3>{_text(_t('Follow-ups'))}</h3><ul>")
            for fu in rec["followups"]:
                line = _t("{title}: due {due}, {state}").format(
                    title=_t(fu["title"]), due=fu["due"],
                    state=_t(FOLLOWUP_STATES.get(fu["state"], fu["state"])))
                if fu["outcome"]:
                    line += " " + _t("(outcome: {text})").format(text=fu["outcome"])
                if fu["cancel_reason"]:
                    line += " " + _t("(reason: {text})").format(text=fu["cancel_reason"])
                moves = [c for c in fu["history"] if c["kind"] == "followup.reschedule"]
                for c in moves:
                    line += " " + _t("[rescheduled from {old} to {new}]").format(
                        old=c["detail"].get("previous_due_date", ""),
                        new=c["detail"].get("due_date", ""))
                out.append(f"<li>{_text(line)}</li>")
            out.append("</ul>")
    parts.append("".join(out))
    return parts


# -- writing (task pool) ------------------------------------------------------------
class _LayoutThread(QThread):
    """Runs one function on a thread Qt started, and keeps its result or error.

    QTextDocument lays text out lazily and starts timers as it goes; a timer needs the
    thread's Qt event dispatcher, which only threads Qt starts have. The bridge's task
    pool runs plain Python threads, where each of those timers failed with a
    "QBasicTimer can only be used with threads started with QThread" warning (dozens
    a PDF). Nothing waits for the timers: the document is laid out in full to print.
    """

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self._work = work
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._work()
        except BaseException as exc:  # handed to the caller by run_on_qt_thread
            self.error = exc


def run_on_qt_thread(work: Callable[[], Any]) -> Any:
    """``work()`` on a short-lived QThread; blocks the calling (background) thread."""
    thread = _LayoutThread(work)
    thread.start()
    thread.wait()
    if thread.error is not None:
        raise thread.error
    return thread.result


def _write_pdf(path: Path, parts: list[str]) -> None:
    # One piece at a time: PySide holds the GIL through each Qt call, and one setHtml of
    # a 200-record export held it for 230 ms, stalling the UI thread's Python slots.
    document = QTextDocument()
    document.setDefaultStyleSheet(f"body {{ {BODY_STYLE} }}")
    font = document.defaultFont()
    font.setFamily("sans-serif")
    font.setPointSizeF(9)
    document.setDefaultFont(font)
    cursor = QTextCursor(document)
    for part in parts:
        cursor.insertHtml(part)
    writer = QPdfWriter(str(path))
    writer.setTitle(_t("Sharelog export"))  # never a name: titles show in file managers
    writer.setCreator("Sharelog")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 15, 15, 15),
                                     QPageLayout.Unit.Millimeter))
    writer.setResolution(300)
    document.print_(writer)
    del writer  # closes the file


def render_pdf(path: Path | str, data: dict[str, Any]) -> Path:
    """Write the PDF atomically with owner-only permissions.

    Run it off the GUI thread (``bridge.task``): the layout itself runs on a QThread
    of its own, and the file goes through ``app.files.atomic_path``.
    """
    target = Path(path)
    parts = html_parts(data)
    with atomic_path(target, prefix=".sharelog-export-", suffix=".part") as tmp:
        run_on_qt_thread(lambda: _write_pdf(tmp, parts))
        with open(tmp, "rb") as fh:
            if fh.read(4) != b"%PDF":
                raise OSError("the PDF could not be written")
    return target


# -- the UI -----------------------------------------------------------------------------
class ExportJob(QObject):
    """One export in flight; tells whoever cares when it ends."""

    finished = Signal(str)  # path
    failed = Signal(str)  # message

    def __init__(self, parent: QWidget | None, bridge: Bridge, path: Path) -> None:
        # Not a Qt child of the window: the bridge's callbacks keep it alive until it ends,
        # and a window closed meanwhile must not take a running export down with it.
        super().__init__(None)
        self.parent_widget = parent
        self.bridge = bridge
        self.path = path

    def run(self, collect: Any) -> None:
        self.bridge.read(collect, self._render, self._fail)

    def _render(self, data: dict[str, Any]) -> None:
        if not data["records"]:
            self._fail(LookupError())
            return
        path = self.path
        self.bridge.task(lambda: render_pdf(path, data), self._done, self._fail)

    def _done(self, path: Path) -> None:
        self.finished.emit(str(path))
        _notify(self.parent_widget, _t("Export saved"),
                _t("The PDF was saved. Remember that it is not encrypted."))

    def _fail(self, error: BaseException) -> None:
        if isinstance(error, LookupError):
            message = _t("There was nothing to export.")
        elif isinstance(error, OSError):
            message = _t("The PDF could not be saved there. Choose another folder and try "
                         "again.")
        else:
            message = dialogs.error_text(error)
        self.failed.emit(message)
        _notify(self.parent_widget, _t("Export failed"), message, warning=True)


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
