"""The address book: it learns whom a practitioner shares with, as they record decisions."""

from __future__ import annotations

from app.model import DecisionRecord
from app.unit import ChangeSet, Unit, Writer
from db import store


class Contacts:
    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    def suggest(self, prefix: str, limit: int = 8) -> list[dict[str, str]]:
        rows = self.unit.read(lambda c: store.contacts_matching(c, prefix.strip(), limit))
        return [dict(zip(("name", "role", "organisation", "contact"), r, strict=True))
                for r in rows]


def learn(writer: Writer, record: DecisionRecord) -> None:
    """Remember the counterparty of a record this practitioner saved (not of records
    pulled from colleagues: the address book learns from its owner's own use)."""
    cp = record.counterparty
    if cp.name.strip() or cp.organisation.strip():
        store.contact_learn(writer.conn, writer.new_id(), cp.name.strip(), cp.role.strip(),
                            cp.organisation.strip(), cp.contact.strip(),
                            writer.unit.clock.now().isoformat(timespec="seconds"))
        writer.note(ChangeSet(contacts=True))
