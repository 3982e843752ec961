"""The first-run offer, under the toolbar until it is answered: "Sign in to your team's
store" beside "Use without a store for now" (Sync > Sign in… stays either way)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class StoreOffer(QFrame):
    sign_in_requested = Signal()
    declined = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("storeOffer")
        self.setAccessibleName(self.tr("Sign in to your team's store"))
        self.text = QLabel(self.tr(
            "Your records are on this computer only. Signing in to your team's store keeps "
            "a copy there and syncs by itself whenever there is a connection."), self)
        self.text.setWordWrap(True)
        self.sign_in = QPushButton(self.tr("Sign in to your team's store"), self)
        self.sign_in.setAccessibleName(self.sign_in.text())
        self.later = QPushButton(self.tr("Use without a store for now"), self)
        self.later.setAccessibleName(self.later.text())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.sign_in)
        layout.addWidget(self.later)
        self.sign_in.clicked.connect(self.sign_in_requested.emit)
        self.later.clicked.connect(self.declined.emit)
