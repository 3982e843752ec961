"""The guided decision form: the training's decision flow, in order, adapting to answers.

The form holds no data of its own beyond its widgets: it turns them into a
``DecisionRecord`` (``record``) and back (``_load``), checks them with the pure
``problems_with`` on the UI thread, and reaches the vault only through the
bridge. Every edit schedules an autosave of an encrypted draft in the vault.

It is built in layers, one module each: ``ui.form.fields`` (fields and rows),
``ui.form.people`` (who it is about, address-book suggestions), ``ui.form.sections``
(the questions laid out), ``ui.form.answers`` (what applies, the record, messages
beside fields), ``ui.form.wording`` (shares and requests), and here the form itself:
starting, drafts, saving and closing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMessageBox, QWidget

from app.model import DecisionRecord, Direction
from app.validation import ValidationError
from ui.bridge import Bridge
from ui.form.answers import FormAnswers
from ui.form.fields import Field
from ui.form.people import ContactSuggestions, SubjectEditor
from ui.widgets.dialogs import error_text
from ui.widgets.inputs import DateTimeField

__all__ = ["DateTimeField", "DecisionForm", "Field", "SubjectEditor"]

AUTOSAVE_MS = 1000
DRAFT_KIND_NEW = "decision"
DRAFT_KIND_CORRECTION = "correction"


class DecisionForm(FormAnswers):
    """Record a new decision, a request, or a correction; autosaves a draft as you go."""

    saved = Signal(str)  # record id
    closed = Signal()
    draft_saved = Signal(str)  # draft id (for a drafts list)

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setAccessibleName(self.tr("Decision form"))
        self._draft_id: str | None = None
        # The versions of the record being corrected that were loaded into the form: the
        # correction follows these, so a version that arrives meanwhile is never superseded
        # unseen (it stays concurrent, and the vault merges or flags the two).
        self._seen: tuple[str, ...] = ()
        self._dirty = False
        self._saving = False
        self._attempted = False
        self._generation = 0  # bumps on clear(): late callbacks from an old form are ignored

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.save_draft_now)
        self.suggestions = ContactSuggestions(self.cp_name, bridge, self)
        self.suggestions.chosen.connect(self.choose_contact)
        self.completer = self.suggestions.completer

        self._connect_answers()
        self.cp_name.textEdited.connect(self._name_edited)
        self.add_subject_button.clicked.connect(self._add_subject_clicked)
        self.close_button.clicked.connect(self.request_close)
        self.save_button.clicked.connect(self.save)
        for keys in (QKeySequence.StandardKey.Save, QKeySequence("Ctrl+Return"),
                     QKeySequence("Ctrl+Enter")):
            QShortcut(keys, self, self.save,
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.request_close,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._reset_widgets()
        self._update_visibility()

    def now(self) -> dt.datetime:
        """The service's clock (what the vault's rules will measure against); it reads no
        disk, so the UI thread may ask it."""
        service = self.bridge.service
        return service.now() if service is not None else dt.datetime.now()

    # -- public API ---------------------------------------------------------------
    def start_new(self, direction: str) -> None:
        """A blank form for a new decision of this direction."""
        self._keep_unsaved_work()
        self._wipe()
        self._direction = Direction(direction).value
        self._apply_direction()
        self._update_visibility()
        self._open_at_top()

    def _first_question(self) -> QWidget:
        return self.correction_reason if self._correcting is not None else self.purpose

    def _open_at_top(self) -> None:
        """Every form opens at its top, the cursor in its first question (a correction's
        reason), whatever the last form was scrolled to."""
        first = self._first_question()
        first.setFocus(Qt.FocusReason.OtherFocusReason)
        self.scroll_area.verticalScrollBar().setValue(0)
        # Rows shown or hidden by the answers just loaded are laid out on the next turn of
        # the event loop, and may move the page: it is put back at the top then.
        QTimer.singleShot(0, self._back_to_top)

    def _back_to_top(self) -> None:
        self.scroll_area.verticalScrollBar().setValue(0)

    def start_correction(self, record_id: str) -> None:
        """Load the record's current version; saving makes a new version with a reason."""
        self._keep_unsaved_work()
        self._wipe()
        generation = self._generation
        self._set_busy(True, self.tr("Loading the record…"))

        def loaded(detail: Any) -> None:
            if generation != self._generation:
                return
            self._set_busy(False)
            if detail.status == "withdrawn":
                self._show_banner(self.tr(
                    "This record was withdrawn and can no longer be corrected."))
                return
            self._correcting = record_id
            self._seen = tuple(detail.heads)
            self._load(detail.record)
            self._open_at_top()

        self.bridge.read(lambda s: s.get_decision(record_id), loaded, self._load_failed)

    def resume_draft(self, draft_id: str) -> None:
        """Reopen a draft saved by autosave (after a lock, a crash or Esc)."""
        self._keep_unsaved_work()
        self._wipe()
        generation = self._generation
        self._set_busy(True, self.tr("Opening the draft…"))

        def find(service: Any) -> Any:
            for draft in service.drafts():
                if draft.draft_id == draft_id:
                    correcting = draft.body.get("correcting") or draft.record_id
                    # A draft kept before drafts remembered what they saw: what is there now.
                    seen = draft.parents or (
                        service.get_decision(correcting).heads if correcting else ())
                    return draft, tuple(seen)
            return None

        def loaded(found: Any) -> None:
            if generation != self._generation:
                return
            self._set_busy(False)
            if found is None:
                self._show_banner(self.tr("That draft could not be found."))
                return
            draft, self._seen = found
            body = draft.body
            self._draft_id = draft.draft_id
            self._correcting = body.get("correcting") or draft.record_id
            self._load(DecisionRecord.from_dict(body.get("record") or {}))
            self._loading = True
            self.correction_reason.setPlainText(str(body.get("correction_reason") or ""))
            self._loading = False
            self.status.setText(self.tr("Draft restored"))
            self._open_at_top()

        self.bridge.read(find, loaded, self._load_failed)

    def clear(self) -> str | None:
        """Wipe every field (called on lock, before the vault locks); unsaved work is kept
        as a draft first. Returns the id of the draft that holds the work, if any."""
        self._keep_unsaved_work()
        # A save in flight deletes its draft when it lands: nothing to reopen then.
        kept = None if self._saving else self._draft_id
        self._wipe()
        return kept

    def _keep_unsaved_work(self) -> None:
        if self._dirty:
            self.save_draft_now()

    @property
    def draft_id(self) -> str | None:
        return self._draft_id

    @property
    def is_correction(self) -> bool:
        return self._correcting is not None

    # -- reacting to edits ----------------------------------------------------------
    def _edited(self, *_: object) -> None:
        self._update_visibility()
        if self._loading:
            return
        self._dirty = True
        self._autosave_timer.start()
        if self._attempted:
            self._show_problems(self._problems())

    def _name_edited(self, text: str) -> None:
        self._edited()
        self.suggestions.name_edited(text)

    def choose_contact(self, contact: dict[str, str]) -> None:
        """Fill the counterparty from an address-book entry."""
        self.cp_name.setText(contact.get("name", ""))
        self.cp_role.setText(contact.get("role", ""))
        self.cp_org.setText(contact.get("organisation", ""))
        self.cp_contact.setText(contact.get("contact", ""))
        self._edited()

    def _add_subject_clicked(self) -> None:
        editor = self.subjects_widget.add_person()
        editor.name.setFocus()

    def _draft_body(self) -> dict[str, Any]:
        return {"direction": self._direction, "record": self.record().to_dict(),
                "correcting": self._correcting, "parents": list(self._seen),
                "correction_reason": self.correction_reason.toPlainText()}

    # -- saving -------------------------------------------------------------------------
    def save(self) -> None:
        """Check the form; when it passes, save on the vault worker."""
        if self._saving or self._loading:
            return
        self._attempted = True
        problems = self._problems()
        self._show_problems(problems)
        if problems:
            self._focus_first_problem(problems)
            return
        record = self.record()
        draft_id = self._draft_id
        correcting = self._correcting
        seen = self._seen
        reason = self.correction_reason.toPlainText().strip()
        self._autosave_timer.stop()
        self._saving = True
        self.save_button.setEnabled(False)
        generation = self._generation
        self.status.setText(self.tr("Saving…"))

        def run(service: Any) -> str:
            if correcting is not None:
                service.correct_decision(correcting, record, reason, parents=seen,
                                         draft_id=draft_id)
                return correcting
            return str(service.record_decision(record, draft_id=draft_id))

        def done(record_id: str) -> None:
            self._saving = False
            self.save_button.setEnabled(True)
            if generation != self._generation:
                self.saved.emit(record_id)
                return
            self._wipe()
            self.status.setText(self.tr("Saved"))
            self.saved.emit(record_id)

        def failed(error: BaseException) -> None:
            self._saving = False
            self.save_button.setEnabled(True)
            self.status.setText("")
            if generation != self._generation:
                return
            if isinstance(error, ValidationError):
                self._show_problems(error.problems)
                self._focus_first_problem(error.problems)
            else:
                self._show_banner(self.tr("Not saved: {why}").format(why=error_text(error)))
                self._dirty = True
                self._autosave_timer.start()

        self.bridge.write(run, done, failed)

    def save_draft_now(self) -> None:
        """Keep what has been typed as an encrypted draft in the vault."""
        self._autosave_timer.stop()
        if not self._dirty or self._saving or self.bridge.service is None:
            return
        if self._draft_id is None:
            self._draft_id = str(uuid.uuid4())
        draft_id = self._draft_id
        body = self._draft_body()
        kind = DRAFT_KIND_CORRECTION if self._correcting else DRAFT_KIND_NEW
        record_id = self._correcting
        self._dirty = False
        generation = self._generation

        def done(_result: object) -> None:
            if generation == self._generation:
                self.status.setText(self.tr("Draft saved"))
            self.draft_saved.emit(draft_id)

        def failed(_error: BaseException) -> None:
            if generation == self._generation:
                self._dirty = True
                self.status.setText(self.tr("The draft could not be saved."))

        self.bridge.write(
            lambda s: s.save_draft(body, draft_id=draft_id, kind=kind, record_id=record_id),
            done, failed)

    def discard_draft(self) -> None:
        draft_id = self._draft_id
        self._dirty = False
        self._autosave_timer.stop()
        if draft_id is not None and self.bridge.service is not None:
            self.bridge.write(lambda s: s.delete_draft(draft_id), None, lambda _e: None)

    def request_close(self) -> None:
        """Esc: ask whether to keep the draft, then close."""
        if self._saving:
            return
        if self._dirty or self._draft_id is not None:
            answer = self._ask_keep_draft()
            if answer is None:
                return
            if answer:
                self.save_draft_now()
            else:
                self.discard_draft()
        self._wipe()
        self.closed.emit()

    def _ask_keep_draft(self) -> bool | None:
        """True keeps the draft, False discards it, None goes back to the form."""
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Close the form"),
                          self.tr("Keep what you have written as a draft? "
                                  "Drafts are kept encrypted and you can finish later."),
                          QMessageBox.StandardButton.NoButton, self)
        keep = box.addButton(self.tr("Keep draft"), QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton(self.tr("Discard"), QMessageBox.ButtonRole.DestructiveRole)
        back = box.addButton(self.tr("Back to the form"), QMessageBox.ButtonRole.RejectRole)
        for button in (keep, discard, back):
            button.setAccessibleName(button.text())
        box.setDefaultButton(keep)
        box.setEscapeButton(back)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is keep:
            return True
        if clicked is discard:
            return False
        return None

    # -- state ---------------------------------------------------------------------------
    def _load_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self._show_banner(error_text(error))

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.content.setEnabled(not busy)
        self.save_button.setEnabled(not busy)
        self.status.setText(message)

    def _wipe(self) -> None:
        self._generation += 1
        self._autosave_timer.stop()
        self.suggestions.reset()
        self._correcting = None
        self._seen = ()
        self._draft_id = None
        self._attempted = False
        self._reset_widgets()
        self._dirty = False
        self._set_busy(False)
        self._show_banner("")

    def _reset_widgets(self) -> None:
        self._loading = True
        try:
            self._direction = Direction.DISCLOSURE.value
            self._reset_answers()
            self._apply_direction()
        finally:
            self._loading = False
        self._update_visibility()
