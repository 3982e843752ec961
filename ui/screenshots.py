"""Render the documentation screenshots from a fictional demo vault.

    python -m ui.screenshots [--out docs/screenshots]

Builds a vault in a temporary SHARELOG_HOME (a few hundred made-up records, two
corrected, some follow-ups overdue), opens the real main window at 1440x900 and
saves unlock.png, decisions.png, detail.png, form.png and followups.png. Sync: a demo
store starts in the same temporary home (``python -m server demo``), the vault signs in
as the demo practitioner through the real dialog (store-offer.png, sign-in.png) and syncs;
sync-status.png shows the status bar's states, sync-details.png the Sync details window
after a sync, a change the store refused, and a sync that found the store away. Then a small
demo team (Sam's laptop and tablet, Alex, Morgan the manager) whose vaults hand each
other their changes as a pull would: conflict.png (the side-by-side view of a record
corrected on two devices at once), detail-conflict.png (the record marked) and team.png
(the manager's Team list, another practitioner's record read-only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEMO_PASSPHRASE = "demo passphrase for screenshots"
WINDOW_SIZE = (1440, 900)


def build_demo_vault(home: Path) -> str:
    """A few hundred records; returns the id of a corrected one (to show its history)."""
    from app import demo, session, vaults
    from app.model import Counterparty, DecisionRecord

    # Two people share this computer: the unlock screen lists both, Sam (used last) chosen.
    alex = session.create_vault_for("Alex Morgan", DEMO_PASSPHRASE + " for alex", base=home)
    alex.lock()
    vaults.record_use(alex.vault.path.parent, "Alex Morgan",
                      dt.datetime.now(dt.UTC) - dt.timedelta(days=4))
    service = session.create_vault_for("Sam Worker", DEMO_PASSPHRASE, base=home)
    today = dt.date.today()
    now = dt.datetime.now().replace(second=0, microsecond=0)  # no record dated after now
    ids = demo.seed(service, 300, end=now, days_back=120)
    # Most older follow-ups were done; a few were missed (overdue).
    for n, fu in enumerate(service.my_followups()):
        if fu.due_date < today - dt.timedelta(days=3) and n % 9:
            service.complete_followup(fu.followup_id, "Recipient confirmed and acted on it.",
                                      parents=fu.heads)
    corrected = ids[-3]
    for rid, reason, change in (
        (corrected, "The recipient's role was recorded wrongly; they are the school's "
                    "designated safeguarding lead.",
         {"counterparty": Counterparty("K. Osei", "Designated safeguarding lead",
                                       "Hillview Primary School", "k.osei@example.org")}),
        (ids[-7], "Added that the family were told after the strategy meeting.",
         {"person_informed": "yes", "person_informed_reason": ""}),
    ):
        detail = service.get_decision(rid)
        record: DecisionRecord = detail.record
        for key, value in change.items():
            setattr(record, key, value)
        if record.is_share and not record.method:
            record.method = "secure_email"
        service.correct_decision(rid, record, reason, parents=detail.heads)
    service.lock()
    return corrected


def wait_until(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    """Let the event loop run until ``condition`` holds (a script helper, not for tests)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    timer = QTimer()
    timer.setInterval(20)

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("the screenshot scene did not get ready in time")


def settle(ms: int = 200) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def fill_form_part_way(form: object) -> None:
    from app.model import Counterparty, DecisionRecord, Subject

    record = DecisionRecord(
        direction="disclosure",
        subjects=[Subject(name="Leah Morgan", date_of_birth="2017-06-14", kind="child",
                          case_ref="C482913")],
        counterparty=Counterparty("Dr R. Mensah", "GP", "Riverside Medical Centre",
                                  "r.mensah@example.org"),
        purpose="A disclosure at school of physical chastisement by a parent's partner; "
                "the GP is asked to check for injuries and recent attendances.",
        information="Outline of the disclosure made to the class teacher, in the child's words",
        categories=["health", "family"],
        clear_purpose=True,
        identifies_person=True,
        fact_or_opinion="fact",
        confidential=True,
        consent="not_sought",
        decision="share",
    )
    load = getattr(form, "_load", None)
    if callable(load):
        load(record)
        top = getattr(form, "_open_at_top", None)
        if callable(top):
            top()  # as every form opens: at its top, the cursor in its first question
    else:
        purpose = getattr(form, "purpose", None)
        if purpose is not None:
            purpose.setPlainText(record.purpose)


def _first_row(model: object, direction: str, decision: str) -> str | None:
    """The newest listed record of this kind (for a screenshot of its detail)."""
    from ui.decisions.model import SUMMARY_ROLE

    for row in range(model.rowCount()):  # type: ignore[attr-defined]
        summary = model.index(row, 0).data(SUMMARY_ROLE)  # type: ignore[attr-defined]
        if summary is not None and (summary.direction, summary.decision) == (direction,
                                                                              decision):
            return str(summary.record_id)
    return None


def sign_in_screens(window: object, out: Path, url: str) -> list[str]:
    """The first-run offer and the sign-in dialog, then a real sign-in as the demo's Sam."""
    from server.demo import DEMO_USERS

    w: Any = window
    sync = w.sync
    wait_until(sync.offer_bar.isVisible)
    settle()
    w.grab().save(str(out / "store-offer.png"))
    sync.offer.sign_in.click()
    wait_until(lambda: sync.sign_in_dialog is not None and sync.sign_in_dialog.isVisible())
    dialog = sync.sign_in_dialog
    sam = DEMO_USERS[0]
    dialog.username.setText(sam.username)
    dialog.password.setText(sam.password)
    settle()
    dialog.grab().save(str(out / "sign-in.png"))
    dialog.submit()
    wait_until(lambda: sync.sign_in_dialog is None, 60)
    wait_until(lambda: w.sync_label.text().startswith("Synced at "), 120)
    return ["store-offer.png", "sign-in.png"]


def sync_screens(window: object, out: Path, stop_store: Callable[[], None]) -> list[str]:
    """The status bar's states, one above the other, and Sync details after a refusal and
    a sync that found the store away."""
    from PySide6.QtGui import QImage, QPainter

    from app.sync.engine import SyncState, SyncStatus

    w: Any = window
    sync = w.sync
    controller = sync.controller
    # A follow-up given to someone outside the team: the demo store refuses it.
    done: list[object] = []

    def reassign(service: Any) -> None:
        # The vault last heard this person was a manager (since changed on the store):
        # it lets the change through, and the store, which decides, refuses it.
        service.sync.learn_people({}, roles={service.identity.user_id: "manager"})
        fu = service.my_followups()[0]
        service.reassign_followup(fu.followup_id, "someone-outside-the-team", parents=fu.heads)

    w.bridge.write(reassign, done.append, done.append)
    wait_until(lambda: bool(done))
    wait_until(lambda: not controller.running, 60)
    controller.sync_now()
    wait_until(lambda: not controller.running and "refused" in w.sync_label.text(), 60)
    stop_store()
    w.bridge.write(lambda s: s.record_decision(demo_share()), done.append, done.append)
    wait_until(lambda: len(done) == 2)
    controller.sync_now()
    wait_until(lambda: w.sync_label.text().startswith("Offline"), 60)
    details = sync.open_details()
    wait_until(lambda: details.history.rowCount() >= 3 and details.held.rowCount() >= 1)
    details.resize(900, 560)
    settle(300)
    details.grab().save(str(out / "sync-details.png"))
    details.accept()

    now = dt.datetime.now(dt.UTC)
    states = [
        SyncStatus(SyncState.SYNCING, done=420, total=1375),
        SyncStatus(SyncState.SYNCED, synced_at=now),
        SyncStatus(SyncState.WAITING, synced_at=now, waiting=3, oldest_waiting=now),
        SyncStatus(SyncState.OFFLINE, synced_at=now - dt.timedelta(hours=2), waiting=2,
                   oldest_waiting=now - dt.timedelta(days=2), error="offline"),
        SyncStatus(SyncState.ERROR, error="device_revoked",
                   message="This computer's access was revoked: ask your administrator."),
    ]
    controller.stop()  # nothing else writes to the status bar while it is drawn
    sync.unlocked = True
    bar = w.statusBar()
    bar.clearMessage()
    shots = []
    for status in states:
        sync._show_status(status)
        settle(100)
        shots.append(bar.grab().toImage())
    height = sum(i.height() for i in shots)
    sheet = QImage(shots[0].width(), height, QImage.Format.Format_ARGB32)
    painter = QPainter(sheet)
    y = 0
    for image in shots:
        painter.drawImage(0, y, image)
        y += image.height()
    painter.end()
    sheet.save(str(out / "sync-status.png"))
    return ["sync-status.png", "sync-details.png"]


def demo_share() -> Any:
    from app.model import SEVEN_TESTS, Counterparty, DecisionRecord, Subject

    return DecisionRecord(
        direction="disclosure",
        subjects=[Subject(name="Rory Example", date_of_birth="2015-02-11", kind="child",
                          case_ref="C551020")],
        counterparty=Counterparty(name="Ms T. Adeyemi", role="Health visitor",
                                  organisation="Riverside Health Visiting"),
        clear_purpose=True, identifies_person=True, confidential=True,
        information="Attendance at the last two clinic appointments",
        categories=["health"], fact_or_opinion="fact",
        purpose="Section 47 enquiry", decision="share",
        decided_at=dt.datetime.now().strftime("%Y-%m-%dT%H:%M"),
        reasons="The health visitor needs this to plan the next home visit safely.",
        consent="not_sought", consent_reason="risk_of_harm", lawful_basis="public_task",
        without_consent_ground="risk_of_harm", statutory_gateway="ca1989_s47",
        art9_condition="art9_2_g", sch1_condition="sch1_para18",
        seven_tests={k: True for k in SEVEN_TESTS}, method="secure_email",
        person_informed="no", person_informed_reason="Telling the family would increase "
        "the risk.", third_party_identified=False, advice_sought=False)


TEAM_ID = "team-demo"
PEOPLE = {"user-sam": ("Sam Carter", "practitioner"), "user-alex": ("Alex Morgan",
                                                                     "practitioner"),
          "user-morgan": ("Morgan Reyes", "manager")}


def build_demo_team(base: Path) -> dict[str, Path]:
    """Four vaults of one team, each bound to its account, that have exchanged what they
    made; Sam corrected one record on the laptop and on the tablet at once. Returns each
    device's data folder (the vaults are locked)."""
    from app import demo, session

    homes = {name: base / name for name in ("sam-laptop", "sam-tablet", "alex", "morgan")}
    owners = {"sam-laptop": "user-sam", "sam-tablet": "user-sam", "alex": "user-alex",
              "morgan": "user-morgan"}
    names = {uid: name for uid, (name, _role) in PEOPLE.items()}
    roles = {uid: role for uid, (_name, role) in PEOPLE.items()}
    services = {}
    for device, home in homes.items():
        account = owners[device]
        svc = session.create_vault(names[account], DEMO_PASSPHRASE, base=home)
        svc.sync.record_binding(account_user_id=account, account_team_id=TEAM_ID,
                                display_name=names[account], role=roles[account])
        svc.sync.learn_people(names, roles=roles)
        services[device] = svc
    now = dt.datetime.now().replace(second=0, microsecond=0)
    ids = demo.seed(services["sam-laptop"], 14, end=now, days_back=30, seed_value=3)
    demo.seed(services["alex"], 9, end=now, days_back=30, seed_value=5)
    demo.seed(services["morgan"], 2, end=now, days_back=30, seed_value=11)

    # What the store would send each device: a practitioner's devices their own records,
    # the manager's everyone's.
    receives = {"sam-laptop": ("sam-tablet",), "sam-tablet": ("sam-laptop",), "alex": (),
                "morgan": ("sam-laptop", "sam-tablet", "alex")}

    def hand_over() -> None:
        keys = {s.identity.device_id: s.device_public_key for s in services.values()}
        for dst, sources in receives.items():
            for src in sources:
                services[dst].ingest.apply(services[src].sync.outbox(limit=100_000),
                                           device_keys=keys)

    hand_over()
    laptop, tablet = services["sam-laptop"], services["sam-tablet"]
    rid = ids[-2]
    for svc, reason, text in (
        (laptop, "Added what the school told us.",
         "The school reported bruising on two days this week; sharing with the GP is "
         "needed to check for injuries and protect the child from significant harm."),
        (tablet, "Reworded after the home visit.",
         "Bruising seen at the home visit and reported by the school; the GP needs it to "
         "examine the child today. Telling the family first would increase the risk."),
    ):
        detail = svc.get_decision(rid)
        record = detail.record
        record.reasons = text
        svc.correct_decision(rid, record, reason, parents=detail.heads)
    hand_over()
    for svc in services.values():
        svc.lock()
    (base / "conflicted").write_text(rid, "utf-8")
    return homes


def open_and_unlock(home: Path) -> Any:
    from ui.shell.main_window import MainWindow

    os.environ["SHARELOG_HOME"] = str(home)
    window = MainWindow(base=home, use_tray=False)
    window.resize(*WINDOW_SIZE)
    window.show()
    window.start()
    screen = window.vault_screen
    wait_until(lambda: screen.stack.currentWidget() is screen.unlock_page)
    screen.unlock_page.passphrase.setText(DEMO_PASSPHRASE)
    screen.unlock_page.button.click()
    wait_until(lambda: window.is_unlocked)
    model = window.decisions.model
    wait_until(lambda: model.rowCount() > 0 and not model.is_loading)
    return window


def team_scenes(out: Path) -> list[str]:
    """conflict.png, detail-conflict.png and team.png from a demo team."""
    from ui.decisions.conflict_dialog import ConflictDialog

    base = Path(tempfile.mkdtemp(prefix="sharelog-team-screens-"))
    homes = build_demo_team(base)
    rid = (base / "conflicted").read_text("utf-8")
    saved = []

    window = open_and_unlock(homes["sam-laptop"])
    window.decisions.select_record(rid)
    wait_until(lambda: window.detail.loaded_id == rid)
    settle(400)
    window.grab().save(str(out / "detail-conflict.png"))
    saved.append("detail-conflict.png")
    window.detail.resolve_button.click()
    wait_until(lambda: any(d.isVisible() and d.choices
                           for d in window.findChildren(ConflictDialog)))
    dialog = next(d for d in window.findChildren(ConflictDialog) if d.isVisible())
    dialog.resize(1100, 520)
    [choice] = dialog.choices
    button = choice.group.button(1)
    if button is not None:
        button.setChecked(True)
    dialog.reason.setPlainText("The tablet's wording is what I saw at the visit; agreed "
                               "with my manager.")
    settle(400)
    dialog.grab().save(str(out / "conflict.png"))
    saved.append("conflict.png")
    dialog.reject()
    window.close()

    window = open_and_unlock(homes["morgan"])
    model = window.decisions.model
    sams = next((model.record_id(r) for r in range(model.rowCount())
                 if model.index(r, model.OWNER).data() == "Sam Carter"), None)
    if sams is not None:
        window.decisions.select_record(sams)
        wait_until(lambda: window.detail.loaded_id == sams)
    settle(400)
    window.grab().save(str(out / "team.png"))
    saved.append("team.png")
    window.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render Sharelog's documentation screenshots")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    home = Path(tempfile.mkdtemp(prefix="sharelog-screens-"))
    os.environ["SHARELOG_HOME"] = str(home)
    corrected = build_demo_vault(home)
    # The demo store make run starts, here in the same temporary home.
    from server import demo as demo_store
    from server.pgcluster import free_port

    port = free_port()
    store = demo_store.start_in_background(port)
    url = demo_store.demo_url(port)
    os.environ["SHARELOG_SERVER"] = url  # as make run hands it to the client

    from PySide6.QtWidgets import QApplication

    from ui.shell.app import configure
    from ui.shell.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    configure(app, "light")
    window = MainWindow(base=home, use_tray=False)
    window.resize(*WINDOW_SIZE)
    window.show()
    window.start()
    screen = window.vault_screen
    wait_until(lambda: screen.stack.currentWidget() is screen.unlock_page)
    settle()
    window.grab().save(str(out / "unlock.png"))
    saved = ["unlock.png"]

    screen.unlock_page.passphrase.setText(DEMO_PASSPHRASE)
    screen.unlock_page.button.click()
    wait_until(lambda: window.is_unlocked)
    saved += sign_in_screens(window, out, url)
    model = window.decisions.model
    wait_until(lambda: model.rowCount() > 0 and not model.is_loading)
    window.decisions.select_record(corrected)
    wait_until(lambda: window.detail.record_id == corrected and window.detail.title.text() != "")
    settle()
    window.grab().save(str(out / "decisions.png"))
    saved.append("decisions.png")

    window.detail.tabs.setCurrentIndex(1)
    settle()
    window.grab().save(str(out / "detail.png"))
    saved.append("detail.png")

    # What happened, in words: a decision not to share, and a request made.
    for name, wanted in (("detail-not-shared.png", ("disclosure", "not_share")),
                         ("detail-request-made.png", ("request_made", "share"))):
        found = _first_row(model, *wanted)
        if found is not None:
            record_id: str = found
            window.decisions.select_record(record_id)

            def shown(r: str = record_id) -> bool:
                return window.detail.record_id == r and window.detail.title.text() != ""

            wait_until(shown)
            window.detail.tabs.setCurrentIndex(0)
            settle()
            window.grab().save(str(out / name))
            saved.append(name)
    window.decisions.select_record(corrected)  # the dark scheme shows the history's record

    missing = []
    if hasattr(window.form, "start_new"):
        window.new_decision("disclosure")
        fill_form_part_way(window.form)
        settle(400)
        window.grab().save(str(out / "form.png"))
        saved.append("form.png")
        window.form.clear()
        window.show_decisions()
    else:
        missing.append("form.png (the decision form is not in this build)")

    if hasattr(window.followups, "refresh"):
        window.show_followups()
        settle(800)
        window.grab().save(str(out / "followups.png"))
        saved.append("followups.png")
    else:
        missing.append("followups.png (My follow-ups is not in this build)")

    from ui.shell.app import apply_colour_scheme

    apply_colour_scheme(app, "dark")  # Edit > Preferences > Colour scheme > Dark
    window.show_decisions()
    window.detail.reload()
    settle(800)
    window.grab().save(str(out / "decisions-dark.png"))
    saved.append("decisions-dark.png")

    apply_colour_scheme(app, "light")
    window.show_decisions()
    try:
        saved += sync_screens(window, out, lambda: demo_store.stop(store))
    finally:
        demo_store.stop(store)
    window.close()
    apply_colour_scheme(app, "light")
    saved += team_scenes(out)
    print("saved:", ", ".join(saved), "in", out)
    for note in missing:
        print("skipped:", note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
