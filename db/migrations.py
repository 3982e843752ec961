"""Numbered schema steps. Each runs in one transaction and sets PRAGMA user_version.

Never edit a released step: add the next one. Tests build a vault at every
earlier version and upgrade it (tests/test_migrations.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

STEP_1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- Append-only event log. One row per change, from this or any other device.
-- seq is local arrival order; device_seq orders a device's own hash chain.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    event_id       TEXT NOT NULL UNIQUE,
    entity         TEXT NOT NULL,          -- 'decision' | 'followup'
    kind           TEXT NOT NULL,          -- e.g. 'decision.create'
    record_id      TEXT NOT NULL,          -- the decision the change belongs to
    entity_id      TEXT NOT NULL,          -- decision id or follow-up id
    team_id        TEXT NOT NULL,
    author_id      TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    device_seq     INTEGER NOT NULL,
    hlc            TEXT NOT NULL,
    parents        TEXT NOT NULL,          -- canonical JSON list of event ids
    schema_version INTEGER NOT NULL,
    payload        BLOB NOT NULL,          -- canonical JSON
    prev_hash      BLOB NOT NULL,
    hash           BLOB NOT NULL,
    signature      BLOB NOT NULL,
    UNIQUE (device_id, device_seq)
);
CREATE INDEX events_record ON events (record_id, seq);
CREATE INDEX events_entity ON events (entity_id, seq);

CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    public_key BLOB NOT NULL
) WITHOUT ROWID;

-- Written in the same transaction as the event: nothing is saved but not queued.
CREATE TABLE outbox (
    event_id TEXT PRIMARY KEY REFERENCES events (event_id)
) WITHOUT ROWID;

CREATE TABLE sync_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    last_pulled_seq  INTEGER NOT NULL DEFAULT 0,
    last_synced_at   TEXT
);
INSERT INTO sync_state (id) VALUES (1);

-- Projection: current state, rebuildable from events.
CREATE TABLE decisions (
    record_id        TEXT PRIMARY KEY,
    team_id          TEXT NOT NULL,
    owner_id         TEXT NOT NULL,
    status           TEXT NOT NULL,        -- 'active' | 'withdrawn'
    direction        TEXT NOT NULL,
    decision         TEXT NOT NULL,
    consent          TEXT NOT NULL,
    decided_at       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    version_count    INTEGER NOT NULL,
    head_event_id    TEXT NOT NULL,
    heads            TEXT NOT NULL,        -- JSON list; >1 means concurrent versions
    subjects_text    TEXT NOT NULL,
    counterparty_text TEXT NOT NULL,
    case_refs        TEXT NOT NULL,
    special_category INTEGER NOT NULL,
    body             TEXT NOT NULL         -- canonical JSON of the current version
);
CREATE INDEX decisions_decided ON decisions (decided_at);
CREATE INDEX decisions_owner_decided ON decisions (owner_id, decided_at);

CREATE TABLE followups (
    followup_id   TEXT PRIMARY KEY,
    record_id     TEXT NOT NULL REFERENCES decisions (record_id),
    team_id       TEXT NOT NULL,
    owner_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,          -- 'confirm_receipt' | 'chase_response' | 'other'
    title         TEXT NOT NULL,
    due_date      TEXT NOT NULL,          -- ISO date
    state         TEXT NOT NULL,          -- 'open' | 'done' | 'cancelled'
    outcome       TEXT,
    cancel_reason TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX followups_owner_due ON followups (owner_id, state, due_date);
CREATE INDEX followups_record ON followups (record_id);

CREATE VIRTUAL TABLE decisions_fts USING fts5 (
    record_id UNINDEXED,
    subjects, counterparties, information, reasons,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
"""

STEP_2 = """
-- An address book that learns from use.
CREATE TABLE contacts (
    contact_id   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    contact      TEXT NOT NULL DEFAULT '',
    use_count    INTEGER NOT NULL DEFAULT 0,
    last_used    TEXT NOT NULL,
    UNIQUE (name, organisation)
);
CREATE INDEX contacts_use ON contacts (use_count DESC, last_used DESC);

-- Drafts live in the vault, encrypted like everything else.
CREATE TABLE drafts (
    draft_id    TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    record_id   TEXT,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Learn contacts already used in decisions recorded before this step.
INSERT OR IGNORE INTO contacts (contact_id, name, role, organisation, contact, use_count, last_used)
SELECT lower(hex(randomblob(16))),
       json_extract(body, '$.counterparty.name'),
       coalesce(json_extract(body, '$.counterparty.role'), ''),
       coalesce(json_extract(body, '$.counterparty.organisation'), ''),
       coalesce(json_extract(body, '$.counterparty.contact'), ''),
       1, updated_at
FROM decisions
WHERE json_extract(body, '$.counterparty.name') IS NOT NULL
  AND json_extract(body, '$.counterparty.name') != '';
"""

STEP_3 = """
-- Unlock reads the newest clock value; without an index that decrypted every event.
CREATE INDEX events_hlc ON events (hlc);
-- The list is newest first by decision time then id: one index walks it in order.
DROP INDEX decisions_decided;
CREATE INDEX decisions_order ON decisions (decided_at, record_id);
"""

STEP_4 = """
-- Prefix indexes for 4 and 5 letters as well as 2 and 3: a word typed halfway
-- ("child", "hous") is then one index term, not a merge of every word starting so,
-- which halved the slowest searches on 100,000 decisions. Same rows, same rowids.
CREATE VIRTUAL TABLE decisions_fts_new USING fts5 (
    record_id UNINDEXED,
    subjects, counterparties, information, reasons,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4 5'
);
INSERT INTO decisions_fts_new (rowid, record_id, subjects, counterparties, information, reasons)
SELECT rowid, record_id, subjects, counterparties, information, reasons FROM decisions_fts;
INSERT INTO decisions_fts_new (decisions_fts_new) VALUES ('optimize');
DROP TABLE decisions_fts;
ALTER TABLE decisions_fts_new RENAME TO decisions_fts;
"""

STEP_5 = """
-- "My follow-ups" shows whom each follow-up is about and with whom: that text is kept
-- on the follow-up (and updated with a correction), so the list needs no join.
ALTER TABLE followups ADD COLUMN subjects_text TEXT NOT NULL DEFAULT '';
ALTER TABLE followups ADD COLUMN case_refs TEXT NOT NULL DEFAULT '';
ALTER TABLE followups ADD COLUMN counterparty_text TEXT NOT NULL DEFAULT '';
UPDATE followups SET (subjects_text, case_refs, counterparty_text) = (
    SELECT d.subjects_text, d.case_refs, d.counterparty_text
    FROM decisions d WHERE d.record_id = followups.record_id);
"""

STEP_6 = """
-- Envelope v2: the owner of the record and the holder of a follow-up are signed in the
-- event itself (empty for v1 events, whose owner and assignee are their author).
ALTER TABLE events ADD COLUMN owner_id TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN assignee_id TEXT NOT NULL DEFAULT '';
-- The team store's sequence of the event, once known (pulled, or confirmed by a push).
ALTER TABLE events ADD COLUMN store_seq INTEGER;
CREATE INDEX events_store_seq ON events (store_seq) WHERE store_seq IS NOT NULL;

-- Device keys are pinned on first sight: a different key for a known device is refused.
ALTER TABLE devices ADD COLUMN pinned_at TEXT NOT NULL DEFAULT '';

-- Events that could not be applied, kept with the reason in words and never deleted:
-- refused (forged, broken, duplicate), waiting for what they change to arrive, or made
-- by a newer Sharelog. held = 1 when the event itself is also in events.
CREATE TABLE quarantine (
    event_id    TEXT NOT NULL,
    hash        BLOB NOT NULL,
    status      TEXT NOT NULL,          -- 'refused' | 'waiting' | 'newer' | 'applied'
    reason_code TEXT NOT NULL,
    reason      TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    device_seq  INTEGER NOT NULL,
    record_id   TEXT NOT NULL,
    target_id   TEXT NOT NULL,          -- what a waiting event waits for
    store_seq   INTEGER,
    held        INTEGER NOT NULL DEFAULT 0,
    event       BLOB NOT NULL,          -- the event's wire form, canonical JSON
    received_at TEXT NOT NULL,          -- UTC
    PRIMARY KEY (event_id, hash)
) WITHOUT ROWID;
CREATE INDEX quarantine_waiting ON quarantine (target_id) WHERE status = 'waiting';
CREATE INDEX quarantine_status ON quarantine (status, received_at);

-- Concurrent changes: the fields in conflict (a JSON list; '[]' when none), and each
-- follow-up's latest versions, which a change of it follows.
ALTER TABLE decisions ADD COLUMN conflicts TEXT NOT NULL DEFAULT '[]';
CREATE INDEX decisions_in_conflict ON decisions (record_id) WHERE conflicts != '[]';
ALTER TABLE followups ADD COLUMN heads TEXT NOT NULL DEFAULT '[]';
ALTER TABLE followups ADD COLUMN conflicts TEXT NOT NULL DEFAULT '[]';
CREATE INDEX followups_in_conflict ON followups (record_id) WHERE conflicts != '[]';
UPDATE followups SET heads = (
    SELECT json_group_array(event_id) FROM (
        SELECT e.event_id FROM events e
        WHERE e.entity_id = followups.followup_id
          AND NOT EXISTS (SELECT 1 FROM events c, json_each(c.parents) p
                          WHERE c.entity_id = e.entity_id AND p.value = e.event_id)
        ORDER BY e.event_id));

-- Times in the projection are UTC (they were the device's local time), so every device
-- shows the same record byte for byte, in any timezone: worked out again from the clock
-- stamps of the events that set them.
UPDATE decisions SET
    created_at = (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00',
                                  CAST(substr(e.hlc, 1, 13) AS INTEGER) / 1000, 'unixepoch')
                  FROM events e WHERE e.record_id = decisions.record_id
                    AND e.kind = 'decision.create' ORDER BY e.event_id LIMIT 1),
    updated_at = (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00',
                                  CAST(substr(e.hlc, 1, 13) AS INTEGER) / 1000, 'unixepoch')
                  FROM events e WHERE e.event_id = decisions.head_event_id)
WHERE EXISTS (SELECT 1 FROM events e WHERE e.event_id = decisions.head_event_id);
UPDATE followups SET
    created_at = (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00',
                                  CAST(substr(e.hlc, 1, 13) AS INTEGER) / 1000, 'unixepoch')
                  FROM events e WHERE e.entity_id = followups.followup_id
                    AND e.kind = 'followup.create' ORDER BY e.event_id LIMIT 1),
    updated_at = (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00',
                                  CAST(substr(e.hlc, 1, 13) AS INTEGER) / 1000, 'unixepoch')
                  FROM events e WHERE e.event_id = (
                      SELECT max(h.value) FROM json_each(followups.heads) h))
WHERE followups.heads != '[]';

-- What sync needs to carry on where it left off: the account this vault joined (once),
-- the device token, and the store's confirmed tip of each chain.
ALTER TABLE sync_state ADD COLUMN account_user_id TEXT;
ALTER TABLE sync_state ADD COLUMN account_team_id TEXT;
ALTER TABLE sync_state ADD COLUMN bound_at TEXT;
ALTER TABLE sync_state ADD COLUMN store_url TEXT;
ALTER TABLE sync_state ADD COLUMN device_token TEXT;
CREATE TABLE store_tips (
    device_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    device_seq INTEGER NOT NULL,
    hash       BLOB,
    signature  BLOB,
    revoked    INTEGER NOT NULL DEFAULT 0,
    checked_at TEXT NOT NULL
) WITHOUT ROWID;
"""

STEP_7 = """
-- The sync engine's journal: each sync attempt, when, how much moved and how it ended
-- ('synced' or an error code), with Sharelog's own words for an error (never record
-- content), so the window shows the state and its history after a restart, offline.
CREATE TABLE sync_history (
    attempt_id  INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,          -- UTC
    finished_at TEXT NOT NULL,          -- UTC
    pushed      INTEGER NOT NULL,
    pulled      INTEGER NOT NULL,
    outcome     TEXT NOT NULL,          -- 'synced' | an error code (app.sync.engine)
    message     TEXT                    -- the error in Sharelog's words, with the action
);
"""

# Step 8: which follow-ups given to this person by someone else they have opened (the
# reassignment they saw), so a follow-up reassigned to them is marked new until opened.
# This device's own reading, not a projection of events: never synced, never rebuilt.
STEP_8 = """
CREATE TABLE IF NOT EXISTS followup_seen (
    followup_id TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL,   -- the reassignment seen
    seen_at     TEXT NOT NULL    -- UTC
) WITHOUT ROWID;
-- Reassignments only: "given to me" reads these few rows, not every follow-up held.
CREATE INDEX IF NOT EXISTS events_reassigned ON events (assignee_id)
    WHERE kind = 'followup.reassign';
"""

STEPS: list[str] = [STEP_1, STEP_2, STEP_3, STEP_4, STEP_5, STEP_6, STEP_7, STEP_8]
LATEST_VERSION = len(STEPS)


def _split(script: str) -> list[str]:
    import sqlcipher3

    statements: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlcipher3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements


def migrate(
    conn: Any,
    *,
    backup: Callable[[], Any] | None,
    target: int = LATEST_VERSION,
) -> int:
    """Apply every step above the vault's version, each in its own transaction."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current >= target:
        return int(current)
    if backup is not None and current > 0:
        backup()
    for version in range(current + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split(STEPS[version - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(version)}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return target
