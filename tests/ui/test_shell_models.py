"""The decisions model: Qt's model tester, keyset paging, diffs instead of resets, sorting."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QModelIndex, Qt

from app import demo
from app.model import SearchFilters
from tests.conftest import make_share
from ui.decisions.model import RECORD_ID_ROLE, SORT_ROLE, DecisionsModel, DecisionsProxy


def _load(qtbot, model: DecisionsModel, filters: SearchFilters | None = None) -> None:
    model.set_filters(filters or SearchFilters())
    qtbot.waitUntil(lambda: not model.is_loading, timeout=10_000)


def test_model_tester_with_data(qtbot, qtmodeltester, bridge, service):
    demo.seed(service, 30)
    model = DecisionsModel(bridge, page_size=10)
    model.fetch_batch = 7
    model.next_page_size = 8
    _load(qtbot, model)
    qtmodeltester.check(model)
    proxy = DecisionsProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    assert model.index(0, 0).data(RECORD_ID_ROLE)
    assert model.index(0, DecisionsModel.DATE).data(SORT_ROLE)


def test_keyset_paging_returns_every_row_once_in_order(qtbot, bridge, service):
    # Many decisions on the same few days, so pages cut through a day.
    demo.seed(service, 120, days_back=3, end=dt.datetime(2026, 5, 1, 17, 0))
    expected = [s.record_id for s in service.list_decisions()]
    model = DecisionsModel(bridge, page_size=10)
    model.next_page_size = 15
    model.fetch_batch = 9
    _load(qtbot, model)
    assert model.rowCount() == 10 and model.canFetchMore(QModelIndex())
    while model.canFetchMore(QModelIndex()):
        before = model.rowCount()
        model.fetchMore(QModelIndex())
        qtbot.waitUntil(lambda b=before: model.rowCount() > b or not model.canFetchMore(
            QModelIndex()), timeout=5_000)
    assert model.is_complete
    shown = [model.record_id(r) for r in range(model.rowCount())]
    assert shown == expected


def test_new_record_is_a_row_insert_not_a_reset(qtbot, bridge, service):
    demo.seed(service, 15, end=dt.datetime(2026, 5, 1, 17, 0))
    model = DecisionsModel(bridge, page_size=50)
    _load(qtbot, model)
    assert model.rowCount() == 15
    resets, inserts, changes = [], [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda _p, first, last: inserts.append((first, last)))
    model.dataChanged.connect(lambda a, b, _roles=(): changes.append((a.row(), b.row())))
    with qtbot.waitSignal(bridge.changed):
        bridge.write(lambda s: s.record_decision(make_share(decided_at="2026-06-01T09:00")))
    model.refresh()
    qtbot.waitUntil(lambda: model.rowCount() == 16)
    assert inserts == [(0, 0)] and not resets
    # A withdrawal changes one row in place.
    rid = model.record_id(3)
    with qtbot.waitSignal(bridge.changed):
        bridge.write(lambda s: s.withdraw_decision(rid, "Made in error.",
                                                   parents=s.get_decision(rid).heads))
    model.refresh()
    qtbot.waitUntil(lambda: model.index(3, DecisionsModel.STATUS).data() == "Withdrawn")
    assert (3, 3) in changes and not resets


def test_sort_covers_the_whole_result(qtbot, bridge, service):
    demo.seed(service, 60)
    model = DecisionsModel(bridge, page_size=10)
    proxy = DecisionsProxy()
    proxy.setSourceModel(model)
    _load(qtbot, model)
    proxy.sort(DecisionsModel.SUBJECTS, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: model.is_complete and not model.is_loading, timeout=10_000)
    everything = sorted(s.subjects.casefold() for s in service.list_decisions())
    assert model.index(0, DecisionsModel.SUBJECTS).data().casefold() == everything[0]
    assert proxy.index(0, DecisionsModel.SUBJECTS).data().casefold() == everything[0]
    proxy.sort(DecisionsModel.DATE, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: not model.is_loading, timeout=10_000)
    newest = service.list_decisions(SearchFilters(limit=1))[0].record_id
    assert model.record_id(0) == newest


def test_clear_forgets_rows_and_drops_results_in_flight(qtbot, bridge, service):
    demo.seed(service, 5)
    model = DecisionsModel(bridge)
    model.set_filters(SearchFilters())
    model.clear()
    bridge.wait_idle()
    qtbot.wait(50)
    assert model.rowCount() == 0 and model.total_known == 0
