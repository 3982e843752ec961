"""The key check beside the vault: tells a wrong passphrase from a damaged file.

``vault.sharelog.keycheck`` holds a copy of the vault's 16-byte salt (the first 16
bytes of the SQLCipher file, which damage to page 1 can change) and, for each key
the vault may be under, the form the passphrase was derived from and
HMAC-SHA256(key, LABEL). No record content, no passphrase.

It gives a guesser nothing the vault file does not: checking a guess still costs a
scrypt to get the key, and the vault's own page-1 HMAC already tells a right key
from a wrong one. What it adds is that Sharelog can know the passphrase is right
even when page 1 can no longer be read, and then say "damaged", not "wrong".

Two keys are listed only while a passphrase change is under way (old and new), so a
stop half way still tells which one the vault kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.files import atomic_write

SUFFIX = ".keycheck"
LABEL = b"Sharelog key check v1"
FORMAT = 1

log = logging.getLogger("sharelog.vault")


@dataclass(frozen=True)
class KeyCheck:
    salt: bytes
    keys: tuple[tuple[str, bytes], ...]  # (passphrase form, tag)

    @property
    def forms(self) -> list[str]:
        return list(dict.fromkeys(form for form, _tag in self.keys))

    def knows(self, key: bytes) -> bool:
        mine = tag(key)
        return any(hmac.compare_digest(mine, known) for _form, known in self.keys)


def path_for(vault_path: Path) -> Path:
    return vault_path.with_name(vault_path.name + SUFFIX)


def tag(key: bytes) -> bytes:
    return hmac.new(key, LABEL, hashlib.sha256).digest()


def load(vault_path: Path) -> KeyCheck | None:
    """The key check, or None when there is none or it cannot be read (then Sharelog
    opens the vault as it did before key checks, and writes a new one)."""
    try:
        raw = json.loads(path_for(vault_path).read_text("utf-8"))
        salt = bytes.fromhex(raw["salt"])
        keys = tuple((str(k["form"]), bytes.fromhex(k["check"])) for k in raw["keys"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if raw.get("format") != FORMAT or len(salt) != 16 or not keys:
        return None
    return KeyCheck(salt, keys)


def save(vault_path: Path, salt: bytes, keys: Sequence[tuple[str, bytes]]) -> None:
    """Write it whole (temp file 0600, fsync, atomic replace); raises OSError."""
    body = {
        "format": FORMAT,
        "kdf": "scrypt n=65536 r=8 p=1",
        "salt": salt.hex(),
        "keys": [{"form": form, "check": check.hex()} for form, check in keys],
    }
    atomic_write(path_for(vault_path), json.dumps(body, indent=1).encode("utf-8"))


def forget(vault_path: Path) -> None:
    """Drop the key check, for a vault file replaced by another one (a restored copy keyed
    with an earlier passphrase): the next open then works as for a vault without one and
    writes a new check, instead of calling the copy damaged."""
    path_for(vault_path).unlink(missing_ok=True)


def save_quietly(vault_path: Path, salt: bytes, keys: Sequence[tuple[str, bytes]]) -> bool:
    """Write it if the disk allows; a vault opens without one, so a failure only waits
    for the next successful open."""
    try:
        save(vault_path, salt, keys)
    except OSError as exc:
        log.warning("key check not written (%s)", type(exc).__name__)
        return False
    return True
