"""A team of real vaults that exchange events directly, through the one ingest path.

No store and no network: what one device holds is handed to another as a pulled page
would be (any order, in pages), with every device's public key. Devices: two of Pat's
(a laptop and a tablet, each bound to Pat's account), Paula's (another practitioner) and
Mo's (a manager), their clocks a little apart.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from app import session
from app.clock import Clock
from app.envelope import SignedEvent
from app.ingest import IngestResult
from app.paths import vault_path
from app.projection import event_from_row
from app.service import Sharelog
from db import store
from db.vault import Vault
from tests.conftest import PASSPHRASE

TEAM = "team-riverside"
PAT = "user-pat"
PAULA = "user-paula"
MO = "user-mo"
NAMES = {PAT: "Pat Practitioner", PAULA: "Paula Practitioner", MO: "Mo Manager"}
ROLES = {PAT: "practitioner", PAULA: "practitioner", MO: "manager"}
DEVICES = {  # name: (display name, account, clock skew)
    "pat-laptop": ("Pat Practitioner", PAT, dt.timedelta(0)),
    "pat-tablet": ("Pat Practitioner", PAT, dt.timedelta(hours=3)),
    "paula-laptop": ("Paula Practitioner", PAULA, dt.timedelta(minutes=-40)),
    "mo-laptop": ("Mo Manager", MO, dt.timedelta(days=-2)),
}


@dataclass
class Template:
    path: Path
    key: bytes


def make_templates(base: Path) -> dict[str, Template]:
    """One vault per device, bound to its account, locked: copied for every team."""
    out = {}
    for name, (display, account, _skew) in DEVICES.items():
        home = base / name
        svc = session.create_vault(display, PASSPHRASE, base=home)
        svc.sync.record_binding(account_user_id=account, account_team_id=TEAM,
                                display_name=display, role=ROLES[account])
        svc.sync.learn_people(NAMES, roles=ROLES)
        key = bytes(svc.vault.key)
        svc.vault.checkpoint()
        svc.lock()
        out[name] = Template(vault_path(home), key)
    return out


@dataclass
class Team:
    devices: dict[str, Sharelog] = field(default_factory=dict)

    @classmethod
    def from_templates(cls, templates: dict[str, Template], base: Path) -> Team:
        team = cls()
        for name, tpl in templates.items():
            home = base / name
            home.mkdir(parents=True)
            target = home / tpl.path.name
            shutil.copy2(tpl.path, target)
            vault = Vault.open_with_key(target, tpl.key)
            team.devices[name] = Sharelog(vault, clock=Clock(skew=DEVICES[name][2]))
        return team

    def keys(self) -> dict[str, bytes]:
        return {s.identity.device_id: s.device_public_key for s in self.devices.values()}

    def held(self, name: str) -> list[SignedEvent]:
        conn = self.devices[name].vault.conn
        rows = conn.execute(f"SELECT seq, {store.EVENT_COLUMNS} FROM events ORDER BY seq")
        return [event_from_row(r) for r in rows]

    def exchange(self, src: str, dst: str, rng: random.Random, pages: int = 1
                 ) -> list[IngestResult]:
        """What ``src`` holds and ``dst`` does not, shuffled, in ``pages`` pages."""
        have = {r[0] for r in self.devices[dst].vault.conn.execute("SELECT event_id FROM events")}
        sent = [e for e in self.held(src) if e.event_id not in have]
        rng.shuffle(sent)
        size = max(1, -(-len(sent) // pages))
        return [self.devices[dst].ingest.apply(sent[i:i + size], device_keys=self.keys())
                for i in range(0, len(sent), size)] or [
            self.devices[dst].ingest.apply([], device_keys=self.keys())]

    def full_exchange(self, rng: random.Random) -> None:
        names = list(self.devices)
        for _ in range(2):  # everyone gets everything: twice round the ring
            for i, src in enumerate(names):
                self.exchange(src, names[(i + 1) % len(names)], rng)

    def close(self) -> None:
        for svc in self.devices.values():
            if not svc.is_locked:
                svc.lock()
