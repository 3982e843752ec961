"""Other people's changes in the window (issue 10, point 5): who made them, by name; a
follow-up given to you is new until you open it (kept in the vault); views refresh from
the bridge's change set without losing the selection or the scroll position."""

from __future__ import annotations

import random

from PySide6.QtCore import Qt

from app.service import Sharelog
from db.vault import Vault
from tests.conftest import make_share
from tests.sync_support import MO, PAT, Team
from tests.ui.shell_support import vault_folder
from tests.ui.team_window import correct, pull_into, share_everywhere
from ui.decisions.model import RECORD_ID_ROLE
from ui.followups.model import FollowUpsModel


def _pauls_record_given_to_pat(team: Team) -> tuple[str, str]:
    paula, mo = team.devices["paula-laptop"], team.devices["mo-laptop"]
    rid = paula.record_decision(make_share())
    share_everywhere(team, "paula-laptop")
    fid = mo.get_decision(rid).followups[0].followup_id
    mo.reassign_followup(fid, PAT, parents=mo.get_followup(fid).heads,
                         reason="Paula is on leave.")
    return rid, fid


def test_a_follow_up_given_to_me_says_who_gave_it_and_is_new_until_i_open_it(
        qtbot, team: Team, team_templates, windows) -> None:
    rid, fid = _pauls_record_given_to_pat(team)
    window = windows("pat-laptop")
    window.show_followups()
    panel = window.followups
    assert not panel.model.index_of(fid).isValid()

    pull_into(qtbot, window, team, "mo-laptop", "pat-laptop")  # Mo's change arrives

    qtbot.waitUntil(lambda: panel.model.index_of(fid).isValid(), timeout=10_000)
    index = panel.model.index_of(fid)
    action = index.siblingAtColumn(FollowUpsModel.ACTION)
    assert action.data().startswith("New from Mo Manager:")
    assert index.data(FollowUpsModel.IsNewRole) is True
    assert action.data(Qt.ItemDataRole.FontRole).bold()
    assert "Given to you by Mo Manager on" in action.data(Qt.ItemDataRole.ToolTipRole)

    panel.select(fid)
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)  # opened
    qtbot.waitUntil(lambda: window.detail.loaded_id == rid, timeout=10_000)
    # The record says who made it and who holds its follow-up, by the names the store gave.
    assert "recorded by Paula Practitioner" in window.detail.subtitle.text()
    window.detail.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: "You" in window.detail.followups_view.toPlainText(),
                    timeout=10_000)
    assert "Unknown user" not in window.detail.shown_text()

    window.show_followups()
    qtbot.waitUntil(lambda: not panel.model.index_of(fid).data(FollowUpsModel.IsNewRole),
                    timeout=10_000)
    assert not panel.model.index_of(fid).siblingAtColumn(
        FollowUpsModel.ACTION).data().startswith("New")
    # Kept in the vault: after locking and opening it again, it is still seen.
    window.close()
    # Closing locks the vault on its worker (a checkpoint, the day's backup): wait for it
    # before opening the file again, as a second launch would.
    qtbot.waitUntil(lambda: team.devices["pat-laptop"].is_locked, timeout=20_000)
    tpl = team_templates["pat-laptop"]
    # At the lock the window's list adopts the vault into a folder of its own.
    path = team.devices["pat-laptop"].vault.path
    # In this order: its own folder first (renamed into place, so not ".adopting-…", which
    # a glob of "*" also matches), then the adoption's marker gone (removed once the old
    # names went). The other order can see no marker yet, then the staging folder.
    qtbot.waitUntil(lambda: vault_folder(path.parent) != path.parent
                    and not (path.parent / ".vault-adoption").exists(), timeout=20_000)
    again = Sharelog(Vault.open_with_key(vault_folder(path.parent) / path.name, tpl.key))
    try:
        assert again.followups_given_to_me() == {}
        assert [f.followup_id for f in again.my_followups()] == [fid]
    finally:
        again.lock()


def test_a_follow_up_given_again_after_it_was_opened_is_new_again(team: Team) -> None:
    rid, fid = _pauls_record_given_to_pat(team)
    pat, mo = team.devices["pat-laptop"], team.devices["mo-laptop"]
    team.exchange("mo-laptop", "pat-laptop", random.Random(2))
    assert set(pat.followups_given_to_me()) == {fid}
    assert pat.followups_given_to_me()[fid].by_name == "Mo Manager"
    pat.mark_followups_seen([fid])
    assert pat.followups_given_to_me() == {}
    mo.reassign_followup(fid, MO, parents=mo.get_followup(fid).heads)
    mo.reassign_followup(fid, PAT, parents=mo.get_followup(fid).heads)
    team.exchange("mo-laptop", "pat-laptop", random.Random(3))
    assert set(pat.followups_given_to_me()) == {fid}
    # Nothing about having seen it is signed, sent or projected: the devices still agree.
    team.full_exchange(random.Random(4))
    assert len({s.projection_digest() for s in team.devices.values()}) == 1
    assert rid


def test_records_from_others_show_who_made_them(qtbot, team: Team, windows) -> None:
    rid, _fid = _pauls_record_given_to_pat(team)
    own = team.devices["pat-laptop"].record_decision(make_share())
    window = windows("pat-laptop")
    model = window.decisions.model
    qtbot.waitUntil(lambda: model.row_of(rid) >= 0 and model.row_of(own) >= 0,
                    timeout=10_000)
    assert not window.decisions.table.isColumnHidden(model.OWNER)
    assert model.index(model.row_of(rid), model.OWNER).data() == "Paula Practitioner"
    assert model.index(model.row_of(own), model.OWNER).data() == "You"


def test_a_practitioner_with_only_their_own_records_sees_no_recorded_by_column(
        qtbot, team: Team, windows) -> None:
    team.devices["pat-laptop"].record_decision(make_share())
    window = windows("pat-laptop")
    qtbot.waitUntil(lambda: window.decisions.model.rowCount() == 1, timeout=10_000)
    assert window.decisions.table.isColumnHidden(window.decisions.model.OWNER)
    assert not window.decisions.team_button.isVisible()  # Mine / Team is a manager's


def test_a_pulled_page_refreshes_the_list_and_the_pane_without_moving_them(
        qtbot, team: Team, windows) -> None:
    laptop, tablet = team.devices["pat-laptop"], team.devices["pat-tablet"]
    with laptop.bulk() as w:
        ids = [w.record_decision(make_share(decided_at=f"2026-10-{1 + n // 10:02d}T"
                                            f"{8 + n % 10:02d}:00")) for n in range(150)]
    share_everywhere(team)
    window = windows("pat-laptop")
    panel = window.decisions
    qtbot.waitUntil(lambda: panel.model.rowCount() == 150, timeout=10_000)
    table = panel.table
    table.scrollTo(panel.proxy.index(60, 0), table.ScrollHint.PositionAtTop)
    qtbot.waitUntil(lambda: table.rowAt(0) == 60, timeout=5_000)
    chosen = str(panel.proxy.index(65, 0).data(RECORD_ID_ROLE))
    panel.select_record(chosen)
    qtbot.waitUntil(lambda: window.detail.loaded_id == chosen, timeout=10_000)
    window.detail.tabs.setCurrentIndex(1)
    top_before = panel.proxy.index(table.rowAt(0), 0).data(RECORD_ID_ROLE)
    assert chosen in ids

    # On the tablet: a new record (the newest: the top of the list) and a correction of
    # the one selected here. They arrive in the laptop's window as one pulled page.
    new = tablet.record_decision(make_share(decided_at="2026-11-20T09:00"))
    correct(tablet, chosen, "the GP's name", reasons="Corrected on the tablet.")
    pull_into(qtbot, window, team, "pat-tablet", "pat-laptop")

    qtbot.waitUntil(lambda: panel.model.row_of(new) == 0, timeout=10_000)
    qtbot.waitUntil(lambda: "Corrected on the tablet." in window.detail.history_view
                    .toPlainText(), timeout=10_000)
    assert panel.selected_record_id() == chosen  # the selection stayed
    assert window.detail.loaded_id == chosen and window.detail.tabs.currentIndex() == 1
    assert panel.proxy.index(table.rowAt(0), 0).data(RECORD_ID_ROLE) == top_before  # not moved


def test_a_new_filter_starts_at_the_top_of_its_list(qtbot, team: Team, windows) -> None:
    laptop = team.devices["pat-laptop"]
    with laptop.bulk() as w:
        for n in range(120):
            w.record_decision(make_share(decided_at=f"2026-10-{1 + n // 10:02d}T"
                                         f"{8 + n % 10:02d}:00",
                                         consent="given" if n % 2 else "not_sought"))
    window = windows("pat-laptop")
    panel = window.decisions
    qtbot.waitUntil(lambda: panel.model.rowCount() == 120, timeout=10_000)
    panel.table.scrollTo(panel.proxy.index(80, 0), panel.table.ScrollHint.PositionAtTop)
    qtbot.waitUntil(lambda: panel.table.rowAt(0) == 80, timeout=5_000)
    panel.consent.setCurrentIndex(panel.consent.findData("given"))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 60 and not panel.model.is_loading,
                    timeout=10_000)
    assert panel.table.rowAt(0) == 0
