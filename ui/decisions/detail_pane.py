"""The selected record: its fields in words, its versions, follow-ups and integrity."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app import model as m
from app.rights import TeamView
from app.unit import ChangeSet
from ui.decisions import refused_words
from ui.decisions.record_words import (
    FIELD_WORDS,
    changes,
    headline,
    record_sections,
    subject_words,
    value_words,
)
from ui.widgets import dialogs
from ui.widgets.dates import format_when
from ui.widgets.errors import user_message
from ui.widgets.resources import mark, muted_colour

LOAD_DELAY_MS = 60
# The history's words live with the record's (ui.decisions.record_words); they are named here too.
__all__ = ["FIELD_WORDS", "DetailPane", "changes", "pane_title", "record_html", "value_words"]


def _t(text: str) -> str:
    return QCoreApplication.translate("DetailPane", text)


def _esc(text: str) -> str:
    return html.escape(text or "").replace("\n", "<br>")


def _section(title: str, rows: list[tuple[str, str]]) -> str:
    """Rows of one section of the record table (a heading row, then label and value)."""
    shown = [(label, value) for label, value in rows if value]
    if not shown:
        return ""
    cells = "".join(f"<tr><td class='k' width='36%'>{_esc(label)}</td><td>{value}</td></tr>"
                    for label, value in shown)
    return f"<tr><td colspan='2' class='h'>{_esc(title)}</td></tr>{cells}"


def style() -> str:
    """The panes' style, in the colours of the scheme now in force.

    Rich text cannot follow the palette by itself (``palette()`` in its CSS resolves
    to no colour), so the labels' colour is written in when the HTML is made.
    """
    return ("<style>td.h { font-weight: bold; font-size: large; padding-top: 12px; "
            "padding-bottom: 2px; } "
            f"td.k {{ color: {muted_colour().name()}; vertical-align: top; "
            "padding-right: 12px; } "
            "td { vertical-align: top; } p.v { margin-top: 12px; margin-bottom: 0px; } "
            "p.d { margin-top: 2px; margin-bottom: 0px; }</style>")


def subject_html(s: m.Subject) -> str:
    """One person, the name in bold."""
    words = subject_words(s)
    if s.name and words.startswith(s.name):
        return f"<b>{_esc(s.name)}</b>{_esc(words[len(s.name):])}"
    return _esc(words)


def record_html(record: m.DecisionRecord, written_at: str = "") -> str:
    """Every field of a record in readable words (``ui.decisions.record_words``), escaped."""
    people = "\n".join(subject_words(s) for s in record.subjects)
    what_happened = headline(record)
    parts = []
    for title, rows in record_sections(record, written_at):
        html_rows = []
        for label, value in rows:
            if value == people:
                cell = "<br>".join(subject_html(s) for s in record.subjects)
            elif value == what_happened:
                cell = f"<b>{_esc(value)}</b>"
            else:
                cell = _esc(value)
            html_rows.append((label, cell))
        parts.append(_section(title, html_rows))
    return (style() + "<table cellspacing='0' cellpadding='3' width='100%'>"
            + "".join(parts) + "</table>")


def pane_title(record: m.DecisionRecord, withdrawn: bool) -> str:
    """The pane's heading: what happened (``record_words.headline``), and if withdrawn."""
    title = headline(record)
    return _t("%1 · Withdrawn").replace("%1", title) if withdrawn else title


def versions_html(versions: list[m.Version]) -> str:
    """Every version, newest first: what happened, who, when, on which device, and why."""
    kinds = {"decision.create": _t("Recorded"), "decision.correct": _t("Corrected"),
             "decision.withdraw": _t("Withdrawn")}
    blocks = []
    previous: m.DecisionRecord | None = None
    for v in versions:
        changed = changes(previous, v.record)
        if v.record is not None:
            previous = v.record
        heading = _t("Version %1 · %2").replace("%1", str(v.number)).replace(
            "%2", kinds.get(v.kind, v.kind))
        who = _t("%1 · by %2 · device %3").replace("%1", format_when(v.at[:16])).replace(
            "%2", v.author_name).replace("%3", v.device_id[:8])
        lines = [f"<p class='v'><b>{_esc(heading)}</b></p>", f"<p class='d'>{_esc(who)}</p>"]
        if v.reason:
            lines.append(f"<p class='d'>{_esc(_t('Reason:'))} <i>{_esc(v.reason)}</i></p>")
        for field, old, new in changed:
            if old == new:  # a detail the short words leave out (a date of birth, a contact)
                lines.append(f"<p class='d'>{_esc(_t('Changed %1.').replace('%1', field))}</p>")
            else:
                lines.append(f"<p class='d'>{_esc(_t('Changed %1:').replace('%1', field))} "
                             f"{_esc(old)} → {_esc(new)}</p>")
        blocks.append("".join(lines))
    return style() + "".join(reversed(blocks))


def followups_html(followups: list[m.FollowUp], today: dt.date,
                   team: TeamView | None = None, refused: list[Any] | None = None) -> str:
    if not followups:
        return style() + f"<p>{_esc(_t('This decision has no follow-ups.'))}</p>"
    rows = []
    for fu in followups:
        state = _t(m.BUCKET_LABELS.get(fu.bucket(today), fu.state))
        if fu.in_conflict:
            state = _t("In conflict: choose what stands")
        note = _esc(fu.outcome or fu.cancel_reason or "")
        not_accepted = refused_words.followup_note(refused or [], fu.followup_id)
        if not_accepted:  # the row shows the team's state; the refused change is said
            note += ("<br>" if note else "") + f"<i>⚠ {_esc(not_accepted)}</i>"
        holder = holder_words(team, fu.owner_id)
        rows.append(
            f"<tr><td>{_esc(fu.title)}</td><td>{_esc(format_when(fu.due_date.isoformat()))}"
            f"</td><td><b>{_esc(state)}</b></td><td>{_esc(holder)}</td>"
            f"<td>{note}</td></tr>")
    head = "".join(f"<th align='left'>{_esc(h)}</th>" for h in (
        _t("Follow-up"), _t("Due"), _t("State"), _t("Held by"), _t("Outcome")))
    return (style() + "<table cellspacing='0' cellpadding='5' width='100%'>"
            f"<tr>{head}</tr>{''.join(rows)}</table>")


def holder_words(team: TeamView | None, user_id: str) -> str:
    """Who holds a follow-up or made a record: "you", or their name as the store gave it."""
    if team is None:
        return ""
    return _t("You") if team.is_me(user_id) else team.name(user_id)


def conflict_words(fields: tuple[str, ...], followups_in_conflict: int) -> str:
    """What the banner says is in conflict (field names, never values)."""
    names = [_t(FIELD_WORDS.get(f, "Status" if f == "status" else f)) for f in fields]
    if followups_in_conflict == 1:
        names.append(_t("a follow-up"))
    elif followups_in_conflict:
        names.append(_t("%1 follow-ups").replace("%1", str(followups_in_conflict)))
    return ", ".join(names)


class DetailPane(QWidget):
    correct_requested = Signal(str)
    changed = Signal(str)  # a record was withdrawn
    # What Correct, Withdraw and Export can do now changed (a record shown or gone).
    actions_changed = Signal()

    def __init__(self, bridge: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.record_id = ""
        self.status = ""
        self.heads: tuple[str, ...] = ()
        self.loaded_id = ""  # the record whose content is on screen
        self.read_only = ""  # why this person may not correct or withdraw it ("" if they may)
        self.has_conflict = False
        self.team: TeamView | None = None
        self.followup_ids: frozenset[str] = frozenset()
        self.open_followups: list[m.FollowUp] = []
        self._generation = 0
        self._keep_scroll: list[int] | None = None

        self.empty_label = QLabel(self.tr("Select a decision to see it here."), self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setAccessibleName(self.tr("No decision selected"))

        self.title = QLabel(self)
        self.title.setAccessibleName(self.tr("Decision"))
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)  # what happened names an organisation: it may be long
        self.subtitle = QLabel(self)
        self.subtitle.setAccessibleName(self.tr("When and which version"))
        self.subtitle.setWordWrap(True)
        self.integrity = QLabel(self)
        self.integrity.setAccessibleName(self.tr("Integrity check"))
        self.integrity.setWordWrap(True)

        # A record changed in two places at once: said above the record, with the way out.
        self.conflict_box = QWidget(self)
        self.conflict_label = QLabel(self.conflict_box)
        self.conflict_label.setWordWrap(True)
        self.conflict_label.setAccessibleName(self.tr("Conflict"))
        mark(self.conflict_label, "error")
        self.resolve_button = QPushButton(self.tr("Choose what stands…"), self.conflict_box)
        self.resolve_button.setAccessibleName(self.tr("Choose what stands in this record"))
        self.resolve_button.clicked.connect(self.resolve)
        conflict_row = QHBoxLayout(self.conflict_box)
        conflict_row.setContentsMargins(0, 0, 0, 0)
        conflict_row.addWidget(self.conflict_label, 1)
        conflict_row.addWidget(self.resolve_button)
        self.conflict_box.hide()
        # A change made here that the team's store refused: said above the record, which
        # shows what the team has (ui.decisions.refused_words).
        self.refused_note = QLabel(self)
        self.refused_note.setWordWrap(True)
        self.refused_note.setAccessibleName(self.tr("A change the team's store did not accept"))
        mark(self.refused_note, "error")
        self.refused_note.hide()
        # Someone else's record (a manager's Team view): why Correct and Withdraw are off.
        self.owner_note = QLabel(self)
        self.owner_note.setWordWrap(True)
        self.owner_note.setAccessibleName(self.tr("Whose record"))
        mark(self.owner_note, "note")
        self.owner_note.hide()

        self.correct_button = QPushButton(self.tr("Correct…"), self)
        self.correct_button.setAccessibleName(self.tr("Correct this decision"))
        self.withdraw_button = QPushButton(self.tr("Withdraw…"), self)
        self.withdraw_button.setAccessibleName(self.tr("Withdraw this decision"))
        self.export_button = QPushButton(self.tr("Export PDF…"), self)
        self.export_button.setAccessibleName(self.tr("Export this decision as PDF"))
        self.reassign_button = QPushButton(self.tr("Reassign follow-up…"), self)
        self.reassign_button.setAccessibleName(self.tr("Give a follow-up to someone else"))
        self.reassign_button.hide()  # a manager's
        self.correct_button.clicked.connect(self.correct)
        self.withdraw_button.clicked.connect(self.withdraw)
        self.export_button.clicked.connect(self.export)
        self.reassign_button.clicked.connect(self.reassign)

        self.record_view = self._browser(self.tr("Decision record"))
        self.history_view = self._browser(self.tr("Versions"))
        self.followups_view = self._browser(self.tr("Follow-ups of this decision"))
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName(self.tr("Decision details"))
        self.tabs.addTab(self.record_view, self.tr("Record"))
        self.tabs.addTab(self.history_view, self.tr("History"))
        self.tabs.addTab(self.followups_view, self.tr("Follow-ups"))
        self._html = ["", "", ""]
        self.tabs.currentChanged.connect(self._fill_tab)
        # Moving quickly through the list (arrow keys held) loads only where it stops.
        self._load_timer = QTimer(self)
        self._load_timer.setSingleShot(True)
        self._load_timer.setInterval(LOAD_DELAY_MS)
        self._load_timer.timeout.connect(self._load)

        buttons = QHBoxLayout()
        buttons.addWidget(self.correct_button)
        buttons.addWidget(self.withdraw_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        manager_buttons = QHBoxLayout()  # a manager's, on its own row: the pane is narrow
        manager_buttons.addWidget(self.reassign_button)
        manager_buttons.addStretch(1)
        content = QWidget(self)
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.title)
        inner.addWidget(self.subtitle)
        inner.addWidget(self.integrity)
        inner.addWidget(self.conflict_box)
        inner.addWidget(self.refused_note)
        inner.addWidget(self.owner_note)
        inner.addLayout(buttons)
        inner.addLayout(manager_buttons)
        inner.addWidget(self.tabs, 1)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.setTabOrder(self.correct_button, self.withdraw_button)
        self.setTabOrder(self.withdraw_button, self.export_button)
        self.setTabOrder(self.export_button, self.reassign_button)
        self.setTabOrder(self.reassign_button, self.tabs)
        self.clear()

    def _browser(self, name: str) -> QTextBrowser:
        view = QTextBrowser(self)
        view.setOpenLinks(False)
        view.setAccessibleName(name)
        return view

    # -- loading ---------------------------------------------------------------
    def show_record(self, record_id: str) -> None:
        if not record_id:
            self.clear()
            return
        if record_id != self.record_id:
            self.tabs.setCurrentIndex(0)
            # Until the new record is on screen, nothing acts on either of them.
            self.loaded_id = ""
            self._update_buttons()
        self.record_id = record_id
        self._generation += 1
        self._load_timer.start()

    def _load(self) -> None:
        record_id = self.record_id
        if not record_id:
            return
        gen = self._generation

        def load(service: Any) -> tuple[Any, list[m.Version], Any, dt.date, TeamView,
                                        list[Any]]:
            return (service.get_decision(record_id), service.versions(record_id),
                    service.verify_record(record_id), service.today(), service.team_view(),
                    service.sync.refused_in(record_id))

        self.bridge.read(load, lambda result: self._on_loaded(gen, result),
                         lambda exc: self._on_error(gen, exc))

    def reload(self) -> None:
        if self.record_id:
            if self.loaded_id == self.record_id:  # the same record again: stay where you were
                self._keep_scroll = [v.verticalScrollBar().value() for v in self._views()]
            self.show_record(self.record_id)

    def refresh_for(self, changes: ChangeSet) -> None:
        """After a write or a pulled page: reload only if the record shown, or one of its
        follow-ups, changed; its tab and scroll position stay."""
        rid = self.record_id
        if rid and (rid in changes.records or rid in changes.conflicts
                    or self.followup_ids & changes.followups):
            self.reload()

    def _on_loaded(self, gen: int, result: tuple[Any, list[m.Version], Any, dt.date,
                                                 TeamView, list[Any]]) -> None:
        if gen != self._generation:
            return
        detail, versions, report, today, team, refused = result
        self.team = team
        self.read_only = detail.read_only
        self.has_conflict = detail.has_conflict
        self.followup_ids = frozenset(fu.followup_id for fu in detail.followups)
        self.open_followups = [fu for fu in detail.followups
                               if fu.state == m.FollowUpState.OPEN]
        # Opening a record opens its follow-ups: one given to this person is no longer new.
        mine = [fu.followup_id for fu in self.open_followups if team.is_me(fu.owner_id)]
        if mine:
            self.bridge.write(lambda s: s.mark_followups_seen(mine), None, lambda _exc: None)
        record: m.DecisionRecord = detail.record
        self.status = detail.status
        self.heads = tuple(detail.heads)  # what a withdrawal from this pane has seen
        withdrawn = detail.status == m.RecordStatus.WITHDRAWN
        self.title.setText(pane_title(record, withdrawn))
        corrections = sum(v.kind == "decision.correct" for v in versions)
        self.subtitle.setText(
            (self.tr("Decided %1 · recorded by %2") if not corrections
             else self.tr("Decided %1 · recorded by %2 · corrected once") if corrections == 1
             else self.tr("Decided %1 · recorded by %2 · corrected %3 times"))
            .replace("%1", format_when(record.decided_at))
            .replace("%2", team.name(versions[0].author_id) if versions else "")
            .replace("%3", str(corrections)))
        if report.ok:
            self.integrity.setText("✓ " + (
                self.tr("Verified: this record has not been altered since it was saved.")
                if report.events_checked == 1 else
                self.tr("Verified: none of this record's %1 saved changes has been altered, "
                        "removed or reordered.").replace("%1", str(report.events_checked))))
        else:
            self.integrity.setText("⚠ " + self.tr("Integrity problem: this record's history "
                                                  "does not check out. Tell your administrator."))
        self._show_conflict(detail)
        self._show_refused(refused, detail, team)
        self._show_owner(detail, team)
        # Laying out rich text takes a while: only the tab in view is filled now.
        history = versions_html(versions)
        if refused:
            history = history.replace("</style>", "</style>" + refused_words.history_html(
                refused, detail, team), 1)
        self._html = [record_html(record, versions[0].at if versions else ""), history,
                      followups_html(detail.followups, today, team, refused)]
        if self._keep_scroll is None:
            for view in self._views():
                view.clear()
        self._fill_tab(self.tabs.currentIndex())
        self.tabs.setTabText(1, self.tr("History (%1)").replace("%1", str(len(versions))))
        self.tabs.setTabText(2, self.tr("Follow-ups (%1)").replace(
            "%1", str(len(detail.followups))))
        self.loaded_id = self.record_id
        self._update_buttons()
        self.stack.setCurrentIndex(1)
        if self._keep_scroll is not None:  # the other tabs start at their top when opened
            self._keep_scroll = None

    def _show_conflict(self, detail: Any) -> None:
        in_conflict = sum(1 for fu in detail.followups if fu.in_conflict)
        if not detail.has_conflict:
            self.conflict_box.hide()
            return
        self.conflict_label.setText("⚠ " + self.tr(
            "Changed in two places at once: %1. Nothing is lost; choose what stands.")
            .replace("%1", conflict_words(tuple(detail.conflicts), in_conflict)))
        self.conflict_box.show()

    def _show_refused(self, refused: list[Any], detail: Any, team: TeamView) -> None:
        text = refused_words.banner_text(refused, detail, team)
        self.refused_note.setText("⚠ " + text if text else "")
        self.refused_note.setVisible(bool(text))

    def _show_owner(self, detail: Any, team: TeamView) -> None:
        if not detail.read_only:
            self.owner_note.hide()
        else:
            text = self.tr("This is %1's record: only they can correct or withdraw it.") \
                .replace("%1", team.name(detail.owner_id))
            if team.is_manager:
                text += " " + self.tr("You can give its follow-ups to someone else.")
            self.owner_note.setText(text)
            self.owner_note.show()
        self.reassign_button.setVisible(team.is_manager)

    def can_correct(self) -> bool:
        """A record is on screen, this person's, and can still be corrected or withdrawn."""
        return (self.can_export() and self.status != m.RecordStatus.WITHDRAWN
                and not self.read_only)

    def can_reassign(self) -> bool:
        """A manager, with an open follow-up of the record shown."""
        return (self.can_export() and self.team is not None and self.team.is_manager
                and bool(self.open_followups))

    def can_export(self) -> bool:
        """A record is on screen (a withdrawn one too: its history is still a record)."""
        return bool(self.record_id) and self.loaded_id == self.record_id

    def _update_buttons(self) -> None:
        self.correct_button.setEnabled(self.can_correct())
        self.withdraw_button.setEnabled(self.can_correct())
        self.export_button.setEnabled(self.can_export())
        self.reassign_button.setEnabled(self.can_reassign())
        self.resolve_button.setEnabled(self.can_export() and self.has_conflict)
        tip = self.read_only if self.can_export() else ""
        self.correct_button.setToolTip(tip)
        self.withdraw_button.setToolTip(tip)
        self.actions_changed.emit()

    def _views(self) -> tuple[QTextBrowser, QTextBrowser, QTextBrowser]:
        return (self.record_view, self.history_view, self.followups_view)

    def _fill_tab(self, index: int) -> None:
        if 0 <= index < len(self._html) and self._html[index]:
            view = self._views()[index]
            view.setHtml(self._html[index])
            self._html[index] = ""
            if self._keep_scroll is not None:
                view.verticalScrollBar().setValue(self._keep_scroll[index])

    def _on_error(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self.clear()
        self.empty_label.setText(user_message(exc))

    def clear(self) -> None:
        """Forget the record shown (on lock or when nothing is selected)."""
        self._generation += 1
        self._load_timer.stop()
        self._html = ["", "", ""]
        self.record_id = ""
        self.loaded_id = ""
        self.status = ""
        self.heads = ()
        self.read_only = ""
        self.has_conflict = False
        self.team = None
        self.followup_ids = frozenset()
        self.open_followups = []
        self._keep_scroll = None
        self.conflict_box.hide()
        self.refused_note.hide()
        self.owner_note.hide()
        self.reassign_button.hide()
        for label in (self.title, self.subtitle, self.integrity, self.conflict_label,
                      self.refused_note, self.owner_note):
            label.clear()
        for view in (self.record_view, self.history_view, self.followups_view):
            view.clear()
        self.tabs.setTabText(1, self.tr("History"))
        self.tabs.setTabText(2, self.tr("Follow-ups"))
        self.empty_label.setText(self.tr("Select a decision to see it here."))
        self._update_buttons()
        self.stack.setCurrentIndex(0)

    def shown_text(self) -> str:
        """Everything the pane shows (for tests and checks that a lock cleared it)."""
        parts = [self.title.text(), self.subtitle.text(), self.integrity.text(),
                 self.conflict_label.text() if self.conflict_box.isVisibleTo(self) else "",
                 self.refused_note.text() if self.refused_note.isVisibleTo(self) else "",
                 self.owner_note.text() if self.owner_note.isVisibleTo(self) else ""]
        parts += [v.toPlainText() for v in (self.record_view, self.history_view,
                                            self.followups_view)]
        return "\n".join(p for p in parts if p)

    # -- actions -------------------------------------------------------------------
    def correct(self) -> None:
        if self.can_correct():
            self.correct_requested.emit(self.record_id)

    def withdraw(self) -> None:
        rid, seen = self.record_id, self.heads
        if not self.can_correct():
            return
        reason = dialogs.ask_reason(self, self.tr("Withdraw this decision"), self.tr(
            "Withdrawing keeps the record and its history, marked as withdrawn. "
            "Why is it being withdrawn?"))
        if not reason or rid != self.record_id:
            return
        self.bridge.write(lambda s: s.withdraw_decision(rid, reason, parents=seen),
                          lambda _result: self.changed.emit(rid), self._show_error)

    def resolve(self) -> None:
        """The side-by-side view of what is in conflict (ui.decisions.conflict_dialog)."""
        if not (self.can_export() and self.has_conflict):
            return
        from ui.decisions.conflict_dialog import open_conflict

        open_conflict(self, self.bridge, self.record_id)

    def reassign(self) -> None:
        if not self.can_reassign() or self.team is None:
            return
        from ui.decisions.reassign_dialog import ask_reassignment

        answer = ask_reassignment(self, self.open_followups, self.team)
        if answer is None:
            return
        fu, to_user, reason = answer
        fid, seen = fu.followup_id, fu.heads
        self.bridge.write(lambda s: s.reassign_followup(fid, to_user, parents=seen,
                                                        reason=reason),
                          None, self._show_error)

    def export(self) -> None:
        if not self.can_export():
            return
        from ui.decisions.export_pdf import export_records  # Qt's PDF writer: loaded on use

        export_records(self, self.bridge, [self.record_id])

    def _show_error(self, exc: BaseException) -> None:
        QMessageBox.warning(self, self.tr("Sharelog"), user_message(exc))
