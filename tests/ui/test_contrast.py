"""Every control's boundary, state and text read in both colour schemes (WCAG 2.1).

Measured on the pixels Qt renders (QWidget.grab), not on the colours asked for: 3:1
for a control's boundary against the window and for a check mark against its box,
4.5:1 for text against what it is drawn on.
"""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)

from ui.shell.app import configure


def luminance(colour: QColor) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(colour.red()) + 0.7152 * channel(colour.green())
            + 0.0722 * channel(colour.blue()))


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _pixels(image: QImage, rect: QRect) -> list[QColor]:
    return [image.pixelColor(x, y) for x in range(rect.left(), rect.right() + 1)
            for y in range(rect.top(), rect.bottom() + 1)]


def _ring(image: QImage, rect: QRect, width: int = 2) -> list[QColor]:
    """The outer ``width`` pixels of a rectangle: where a boundary is drawn."""
    inner = rect.adjusted(width, width, -width, -width)
    return [p for x in range(rect.left(), rect.right() + 1)
            for y in range(rect.top(), rect.bottom() + 1)
            if not inner.contains(x, y) for p in [image.pixelColor(x, y)]]


def _most_common(pixels: list[QColor]) -> QColor:
    return QColor(Counter(p.name() for p in pixels).most_common(1)[0][0])


def _best(pixels: list[QColor], against: QColor) -> float:
    """The strongest contrast in a region: a drawn line or glyph against its ground."""
    return max(contrast(p, against) for p in pixels)


@pytest.fixture
def scheme_kept(qapp):  # type: ignore[no-untyped-def]
    from ui.shell import app as ui_app

    saved, sheet, choice = qapp.palette(), qapp.styleSheet(), ui_app.current_theme()
    yield
    ui_app._THEME["choice"] = choice
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "unsetColorScheme"):
        hints.unsetColorScheme()
    qapp.setPalette(saved)
    qapp.setStyleSheet(sheet)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_controls_meet_wcag_contrast(qtbot, qapp, scheme_kept, scheme):
    configure(qapp, scheme)  # the palette and style sheet Sharelog starts with
    page = QWidget()
    page.setAutoFillBackground(True)
    qtbot.addWidget(page)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(12, 12, 12, 12)
    unticked = QCheckBox("Consent was sought")
    ticked = QCheckBox("Necessary")
    ticked.setChecked(True)
    radio = QRadioButton("Not answered")
    field = QLineEdit("Riverside Medical Centre")
    empty = QLineEdit()
    empty.setPlaceholderText("Search names, case references")
    focused = QLineEdit()
    drop_down = QComboBox()
    drop_down.addItems(["Secure email", "Phone"])
    answers = QWidget()
    row = QHBoxLayout(answers)
    row.setContentsMargins(0, 0, 0, 0)
    yes, no = QPushButton("Yes"), QPushButton("No")  # a yes / no answer made of buttons
    for button in (yes, no):
        button.setCheckable(True)
        row.addWidget(button)
    yes.setChecked(True)
    for widget in (unticked, ticked, radio, field, empty, focused, drop_down, answers):
        layout.addWidget(widget)
    page.resize(360, 360)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    focused.setFocus()
    qtbot.waitUntil(focused.hasFocus)
    image = page.grab().toImage()
    window = image.pixelColor(3, 3)
    assert window == qapp.palette().window().color()

    failures = []

    def need(what: str, measured: float, at_least: float) -> None:
        if measured < at_least:
            failures.append(f"{scheme}: {what} {measured:.2f}:1 < {at_least}:1")

    for box in (unticked, ticked, radio):
        option = QStyleOptionButton()
        box.initStyleOption(option)
        element = (QStyle.SubElement.SE_CheckBoxIndicator if isinstance(box, QCheckBox)
                   else QStyle.SubElement.SE_RadioButtonIndicator)
        indicator = box.style().subElementRect(element, option, box).translated(box.pos())
        need(f"{box.text()!r} box boundary", _best(_ring(image, indicator), window), 3)
        label = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxContents, option,
                                           box).translated(box.pos())
        need(f"{box.text()!r} words", _best(_pixels(image, label), window), 4.5)
    option = QStyleOptionButton()
    ticked.initStyleOption(option)
    indicator = ticked.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option,
                                              ticked).translated(ticked.pos())
    inside = _pixels(image, indicator.adjusted(3, 3, -3, -3))
    need("check mark against its box", _best(inside, _most_common(inside)), 3)

    for control, name in ((field, "text field"), (empty, "empty text field"),
                          (focused, "focused text field"), (drop_down, "drop-down")):
        rect = control.geometry()
        need(f"{name} boundary", _best(_ring(image, rect), window), 3)
        inside = _pixels(image, rect.adjusted(4, 4, -4, -4))
        fill = _most_common(inside)
        words = rect.adjusted(4, 4, -24, -4)  # the drop-down's arrow is measured below
        if control is not focused:
            need(f"{name} words", _best(_pixels(image, words), fill), 4.5)
    arrow = drop_down.geometry().adjusted(drop_down.width() - 22, 4, -4, -4)
    need("drop-down arrow", _best(_pixels(image, arrow), _most_common(_pixels(image, arrow))),
         3)
    for button, name in ((yes, "chosen answer"), (no, "answer not chosen")):
        rect = button.geometry().translated(answers.pos())
        need(f"{name} boundary", _best(_ring(image, rect), window), 3)
        inside = _pixels(image, rect.adjusted(4, 4, -4, -4))
        need(f"{name} words", _best(inside, _most_common(inside)), 4.5)
    chosen = _most_common(_pixels(image, yes.geometry().translated(answers.pos())
                                  .adjusted(4, 4, -4, -4)))
    unchosen = _most_common(_pixels(image, no.geometry().translated(answers.pos())
                                    .adjusted(4, 4, -4, -4)))
    need("chosen against unchosen answer", contrast(chosen, unchosen), 3)
    assert failures == []
