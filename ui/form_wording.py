"""How the form speaks for each kind of decision: a share, a request made, a request received.

The questions are the same; the title, whom they are asked about, and the words
for the information, the decision and the method change. Like the label tables in
``app.model``, the English here is translated where it is shown (``wording_for``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.model import Direction


@dataclass(frozen=True)
class Wording:
    title: str
    who: str  # the title of the counterparty section
    information: str  # the label of what is shared
    decisions: tuple[str, str, str]  # share, share in part, do not share (in Decision order)
    method: str  # the label of how it was shared
    counterparty_first: bool  # requests start with whom to ask


SHARE_DECISIONS = ("Share", "Share in part", "Do not share")

WORDING = {
    Direction.DISCLOSURE.value: Wording(
        title="Share decision",
        who="Shared with (or would have been)",
        information="What is (or would be) shared",
        decisions=SHARE_DECISIONS,
        method="How it was shared",
        counterparty_first=False,
    ),
    Direction.REQUEST_MADE.value: Wording(
        title="Request made to another agency",
        who="Who else might hold relevant information?",
        information="What you disclose in asking",
        decisions=("Ask, sharing what is needed to ask", "Ask, sharing only part", "Do not ask"),
        method="How you asked",
        counterparty_first=True,
    ),
    Direction.REQUEST_RECEIVED.value: Wording(
        title="Request received from another agency",
        who="Who is asking?",
        information="What was asked for, and what is (or would be) shared",
        decisions=SHARE_DECISIONS,
        method="How it was shared",
        counterparty_first=True,
    ),
}


def wording_for(direction: str, tr: Callable[[str], str]) -> Wording:
    """The wording for a direction, translated."""
    w = WORDING.get(direction, WORDING[Direction.DISCLOSURE.value])
    return Wording(title=tr(w.title), who=tr(w.who), information=tr(w.information),
                   decisions=(tr(w.decisions[0]), tr(w.decisions[1]), tr(w.decisions[2])),
                   method=tr(w.method), counterparty_first=w.counterparty_first)

