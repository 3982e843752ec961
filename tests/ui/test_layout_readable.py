"""What a newcomer sees: labels not clipped, whole dates, names readable, honest arrows."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.model import FollowUp
from tests.conftest import make_share
from ui.decisions.model import DecisionsModel
from ui.decisions.panel import DecisionsPanel
from ui.followups.model import FollowUpsModel
from ui.followups.panel import FollowUpsPanel
from ui.form.decision_form import DecisionForm


def test_no_form_label_is_clipped(qtbot, bridge) -> None:
    form = DecisionForm(bridge)
    qtbot.addWidget(form)
    form.resize(1260, 700)
    form.show()
    qtbot.waitExposed(form)
    form.start_new("disclosure")
    labels = [form._rows[name][0].labelForField(form._rows[name][1]) for name in form._rows]
    shown = [lb for lb in labels if isinstance(lb, QLabel) and lb.isVisibleTo(form)]
    assert any(lb.text() == "Is there a clear and legitimate purpose for sharing?" for lb in shown)
    for label in shown:
        needed = label.heightForWidth(label.width())
        assert label.height() >= needed, f"{label.text()!r} is clipped"


def test_followups_show_whole_dates_and_readable_names(qtbot, bridge) -> None:
    panel = FollowUpsPanel(bridge)
    qtbot.addWidget(panel)
    panel.resize(1260, 500)
    panel.show()
    qtbot.waitExposed(panel)
    today = dt.date(2026, 11, 25)
    fu = FollowUp(followup_id="f1", record_id="r1", owner_id="u", kind="confirm_receipt",
                  title="Confirm the recipient received, understood and acted on the "
                        "information",
                  due_date=today - dt.timedelta(days=12), state="open", outcome=None,
                  cancel_reason=None, subjects="Yasmin Morgan", case_refs="C318663",
                  counterparty="Dr R. Mensah, GP, Riverside Medical Centre")
    panel.model.set_followups({"overdue": [fu]}, today)
    view = panel.view
    index = panel.model.index_of("f1")
    metrics = view.fontMetrics()

    def room(column: int) -> int:
        return view.visualRect(index.siblingAtColumn(column)).width()

    due_text = index.siblingAtColumn(FollowUpsModel.DUE).data()
    assert due_text == "13 Nov 2026"
    assert room(FollowUpsModel.DUE) >= metrics.horizontalAdvance(due_text)
    person = index.siblingAtColumn(FollowUpsModel.SUBJECTS).data()
    assert person == "Yasmin Morgan (C318663)"
    assert room(FollowUpsModel.SUBJECTS) >= metrics.horizontalAdvance(person)
    assert room(FollowUpsModel.COUNTERPARTY) >= metrics.horizontalAdvance("Dr R. Mensah, GP")
    with_ = index.siblingAtColumn(FollowUpsModel.COUNTERPARTY)
    assert with_.data(Qt.ItemDataRole.ToolTipRole) == "Dr R. Mensah, GP, Riverside Medical Centre"


def test_newest_first_shows_a_downward_arrow(qtbot, bridge) -> None:
    panel = DecisionsPanel(bridge)
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    qtbot.waitExposed(panel)
    header = panel.table.horizontalHeader()
    assert header.sortIndicatorSection() == DecisionsModel.DATE
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert header.arrow_points_down(DecisionsModel.DATE)
    header.setSortIndicator(DecisionsModel.DATE, Qt.SortOrder.AscendingOrder)
    assert not header.arrow_points_down(DecisionsModel.DATE)


def test_decisions_fit_their_pane(qtbot, bridge) -> None:
    panel = DecisionsPanel(bridge)
    qtbot.addWidget(panel)
    panel.resize(1100, 500)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.table.horizontalScrollBar().maximum() == 0, timeout=2_000)


def test_at_its_narrowest_names_stay_readable_and_the_list_scrolls(qtbot, bridge) -> None:
    from ui.decisions.model import DecisionsModel
    from ui.decisions.panel import MIN_NAME_CHARS

    panel = DecisionsPanel(bridge)
    qtbot.addWidget(panel)
    panel.resize(100, 500)  # Qt keeps it at its minimum width
    panel.show()
    qtbot.waitExposed(panel)
    table = panel.table
    chars = table.fontMetrics().averageCharWidth() * MIN_NAME_CHARS
    for column in (DecisionsModel.SUBJECTS, DecisionsModel.COUNTERPARTY):
        assert table.columnWidth(column) >= chars
    # Columns that do not fit are scrolled to, never cut off without a scroll bar.
    header = table.horizontalHeader()
    qtbot.waitUntil(lambda: header.length() <= table.viewport().width()
                    or table.horizontalScrollBar().maximum() > 0, timeout=2_000)


def test_the_window_fits_a_small_laptop_screen(qtbot, home) -> None:
    from tests.ui.shell_support import open_window

    window = open_window(qtbot, home)
    window.resize(400, 400)  # Qt keeps it at its minimum
    qtbot.wait(50)
    # 1366 x 768 at 125 % scaling leaves 1093 logical pixels.
    assert window.width() <= 1093
    window.close()


def test_on_a_1280_wide_window_the_list_shows_every_column(qtbot, home, service) -> None:
    from tests.ui.shell_support import open_window, unlock, wait_for_rows
    from ui.shell.main_window import DETAIL_MIN_WIDTH

    service.record_decision(make_share())
    service.lock()
    window = open_window(qtbot, home)  # 1280 x 800
    unlock(qtbot, window)
    wait_for_rows(qtbot, window, 1)
    table = window.decisions.table
    qtbot.waitUntil(lambda: table.horizontalHeader().length() <= table.viewport().width(),
                    timeout=2_000)
    assert window.detail.width() >= DETAIL_MIN_WIDTH - 1
    # A divider the person drags stays where they put it.
    fitted = window.splitter.sizes()[0]
    window.splitter.moveSplitter(fitted - 100, 1)
    dragged = window.splitter.sizes()[0]
    assert dragged < fitted - 50
    window.resize(1300, 800)
    qtbot.wait(50)
    assert abs(window.splitter.sizes()[0] - dragged) < 40  # not fitted again
    window.close()


def test_a_text_answer_is_as_tall_as_what_is_written_up_to_a_limit(qtbot, bridge) -> None:
    """Short answers leave room for the next questions; a long one grows, then scrolls."""
    form = DecisionForm(bridge)
    qtbot.addWidget(form)
    form.resize(1366, 700)
    form.show()
    qtbot.waitExposed(form)
    form.start_new("disclosure")
    box = form._rows["purpose"][1].editor
    line = box.fontMetrics().lineSpacing()
    empty = box.height()
    assert empty < 5 * line  # about three lines, not a page
    box.setPlainText("\n".join(f"line {n}" for n in range(6)))
    qtbot.waitUntil(lambda: box.height() > empty + 2 * line)
    grown = box.height()
    box.setPlainText("\n".join(f"line {n}" for n in range(40)))
    qtbot.waitUntil(lambda: box.height() > grown)
    assert box.height() < 12 * line  # then it scrolls instead of pushing the form away
    assert box.verticalScrollBar().maximum() > 0
