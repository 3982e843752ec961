"""Passphrases: how strong a new one is, and the key a typed one derives.

Strength is judged by zxcvbn, which knows the common-password lists, keyboard
walks, sequences, dates and names a guesser tries first. A passphrase must be at
least ``MIN_PASSPHRASE_LENGTH`` characters and score ``MIN_SCORE`` (zxcvbn's "safely
unguessable": at least 10^8 guesses, each one a scrypt here).

Keys are derived from the passphrase in Unicode NFC, so "é" typed as one code point
or as "e" plus a combining accent (another keyboard layout, another system) gives
the same key. Vaults made before that were keyed from the bytes as typed; the form a
vault's key was made from ("nfc", "nfd" or "raw") is recorded in its key check.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zxcvbn import zxcvbn

SALT_BYTES = 16
KEY_BYTES = 32
# scrypt cost: ~0.25 s and 64 MiB on a laptop core; slow on purpose for guessing.
SCRYPT_N = 2**16
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSPHRASE_LENGTH = 10
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching grows fast with length); the first 72
# characters of a longer passphrase decide, and more only makes it stronger.
_ZXCVBN_MAX = 72

NFC = "nfc"
NFD = "nfd"
RAW = "raw"
# Tried in this order on a vault whose key form is not recorded (made before forms were).
LEGACY_FORMS: tuple[str, ...] = (NFC, RAW, NFD)

TOO_SHORT = f"Use at least {MIN_PASSPHRASE_LENGTH} characters (a few unrelated words work well)."
TOO_GUESSABLE = "A guesser would try this passphrase early. Choose a longer or less common one."


@dataclass(frozen=True)
class Strength:
    """zxcvbn's judgement in words a person can act on; never quotes the passphrase."""

    score: int  # 0 (weak) to 4 (strong)
    problems: tuple[str, ...]  # what stops it being used (empty = accepted)
    suggestions: tuple[str, ...]  # how to make it stronger


def judge(passphrase: str, user_inputs: Iterable[str] = ()) -> Strength:
    """How strong ``passphrase`` is; ``user_inputs`` (the person's name…) count as guessable."""
    phrase = unicodedata.normalize("NFC", passphrase)
    if not phrase:
        return Strength(0, (TOO_SHORT,), ())
    inputs = [w for w in (unicodedata.normalize("NFC", u).strip() for u in user_inputs) if w]
    inputs += [part for w in inputs for part in w.split() if len(part) > 2]
    result = zxcvbn(phrase[:_ZXCVBN_MAX], user_inputs=[*inputs, "sharelog"])
    score = int(result["score"])
    feedback = result.get("feedback") or {}
    warning = str(feedback.get("warning") or "")
    suggestions = tuple(str(s) for s in feedback.get("suggestions") or () if s)
    problems: list[str] = []
    if len(phrase) < MIN_PASSPHRASE_LENGTH:
        problems.append(TOO_SHORT)
    if score < MIN_SCORE:
        problems.append(_sentence(warning) if warning else TOO_GUESSABLE)
        if warning:
            problems.append(TOO_GUESSABLE)
    if problems:
        score = min(score, 1)
    return Strength(score, tuple(dict.fromkeys(problems)), suggestions if problems else ())


def check_passphrase_strength(passphrase: str, user_inputs: Iterable[str] = ()) -> list[str]:
    """Problems with a new passphrase, in words a person can act on (empty = fine)."""
    return list(judge(passphrase, user_inputs).problems)


def passphrase_strength_score(passphrase: str, user_inputs: Iterable[str] = ()) -> int:
    """0 (weak) to 4 (strong), for the strength meter."""
    return judge(passphrase, user_inputs).score


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


# -- keys --------------------------------------------------------------------
def in_form(passphrase: str, form: str) -> str:
    if form == NFC:
        return unicodedata.normalize("NFC", passphrase)
    if form == NFD:
        return unicodedata.normalize("NFD", passphrase)
    return passphrase


def forms_to_try(passphrase: str, forms: Sequence[str]) -> list[tuple[str, str]]:
    """(form, text) for each form in order, skipping those that give a text already listed.

    An ASCII passphrase is the same in every form, so it costs one key derivation.
    """
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for form in forms:
        text = in_form(passphrase, form)
        if text not in seen:
            seen.add(text)
            out.append((form, text))
    return out


def derive_key(passphrase: str, salt: bytes, form: str = NFC) -> bytes:
    # hashlib's scrypt releases the GIL while it works, so deriving on a worker
    # thread never freezes the UI thread (cryptography's Scrypt holds it for ~0.2 s).
    return hashlib.scrypt(in_form(passphrase, form).encode("utf-8"), salt=salt, n=SCRYPT_N,
                          r=SCRYPT_R, p=SCRYPT_P, maxmem=256 * 1024 * 1024, dklen=KEY_BYTES)
