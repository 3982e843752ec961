"""A manager gives a follow-up to someone else in the team (the one change a manager
makes to another practitioner's record)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app import model as m
from app.rights import TeamView
from ui.widgets.dates import format_when


class ReassignDialog(QDialog):
    def __init__(self, parent: QWidget | None, followups: list[m.FollowUp],
                 team: TeamView) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Give a follow-up to someone else"))
        self.setAccessibleName(self.windowTitle())
        self.followups = followups
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.which = QComboBox(self)
        self.which.setAccessibleName(self.tr("Which follow-up"))
        for fu in followups:
            self.which.addItem(self.tr("%1 (due %2, held by %3)").replace(
                "%1", self.tr(fu.title)).replace("%2", format_when(fu.due_date.isoformat()))
                .replace("%3", team.name(fu.owner_id)), fu.followup_id)
        form.addRow(self.tr("Follow-up"), self.which)
        self.to = QComboBox(self)
        self.to.setAccessibleName(self.tr("Give it to"))
        self.to.addItem(self.tr("Choose someone"), "")
        for member in team.members:
            self.to.addItem(member.name, member.user_id)
        form.addRow(self.tr("Give it to"), self.to)
        self.reason = QPlainTextEdit(self)
        self.reason.setTabChangesFocus(True)
        self.reason.setAccessibleName(self.tr("Why (optional)"))
        self.reason.setMaximumHeight(self.fontMetrics().height() * 4)
        form.addRow(self.tr("Why (optional)"), self.reason)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.tr("Give it to them"))
        self.ok_button.setAccessibleName(self.ok_button.text())
        back = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        back.setText(self.tr("Back"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.to.currentIndexChanged.connect(self._update_ok)
        self.which.currentIndexChanged.connect(self._update_ok)
        self._update_ok()

    def _chosen(self) -> m.FollowUp | None:
        fid = self.which.currentData()
        return next((fu for fu in self.followups if fu.followup_id == fid), None)

    def _update_ok(self) -> None:
        fu = self._chosen()
        to = self.to.currentData()
        self.ok_button.setEnabled(bool(to) and fu is not None and to != fu.owner_id)

    def answer(self) -> tuple[m.FollowUp, str, str] | None:
        fu = self._chosen()
        to = str(self.to.currentData() or "")
        if fu is None or not to:
            return None
        return fu, to, self.reason.toPlainText().strip()


def ask_reassignment(parent: QWidget | None, followups: list[m.FollowUp],
                     team: TeamView) -> tuple[m.FollowUp, str, str] | None:
    dialog = ReassignDialog(parent, followups, team)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return dialog.answer()
        return None
    finally:
        dialog.deleteLater()
