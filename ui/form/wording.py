"""How the form speaks for each kind of decision: a share, a request made, a request received.

The questions are the same; the title, whom they are asked about, and the words
for the information, the decision and the method change. Like the label tables in
``app.model``, the English here is translated where it is shown (``wording_for``).
Within each set of decisions the words start with different letters, so typing one
answers the question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from app.model import Direction


@dataclass(frozen=True)
class Wording:
    title: str
    who: str  # the title of the counterparty section
    who_not_shared: str  # ... when the decision is not to share (or not to ask)
    requested: str  # the label of what was asked for (requests)
    information: str  # the label of what is shared
    decisions: tuple[str, str, str]  # share, share in part, do not share (in Decision order)
    share_section: str  # the title of the section about sharing (or asking)
    method: str  # the label of how it was shared
    when: str  # the label of when it was shared
    person_informed: str
    counterparty_first: bool  # requests start with whom to ask


SHARE_DECISIONS = ("Share", "Partly share: only some of it", "Do not share")

WORDING = {
    Direction.DISCLOSURE.value: Wording(
        title="Share decision",
        who="Shared with",
        who_not_shared="Who would have received it (if anyone)",
        requested="",
        information="What is (or would be) shared",
        decisions=SHARE_DECISIONS,
        share_section="Sharing it",
        method="How it was shared",
        when="When it was shared",
        person_informed="Was the person or family told?",
        counterparty_first=False,
    ),
    Direction.REQUEST_MADE.value: Wording(
        title="Request made to another agency",
        who="Who else might hold relevant information?",
        who_not_shared="Who else might hold relevant information?",
        requested="What you asked for",
        information="What you tell them in asking",
        decisions=("Ask", "Partly: ask, sharing only part of what you know", "Do not ask"),
        share_section="Asking",
        method="How you asked",
        when="When you asked",
        person_informed="Was the person or family told you were asking?",
        counterparty_first=True,
    ),
    Direction.REQUEST_RECEIVED.value: Wording(
        title="Request received from another agency",
        who="Who is asking?",
        who_not_shared="Who is asking?",
        requested="What they asked for",
        information="What is (or would be) shared in reply",
        decisions=SHARE_DECISIONS,
        share_section="Sharing it",
        method="How it was shared",
        when="When it was shared",
        person_informed="Was the person or family told?",
        counterparty_first=True,
    ),
}


def wording_for(direction: str, tr: Callable[[str], str]) -> Wording:
    """The wording for a direction, translated."""
    w = WORDING.get(direction, WORDING[Direction.DISCLOSURE.value])
    values = {}
    for f in fields(Wording):
        value = getattr(w, f.name)
        if isinstance(value, str):
            value = tr(value) if value else ""
        elif isinstance(value, tuple):
            value = tuple(tr(v) for v in value)
        values[f.name] = value
    return Wording(**values)
