"""What is wrong with a record, in words a practitioner understands.

Messages never quote what was typed: an error can end up on screen, in a log or in a
crash report, and none of those may hold record content.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    field: str  # the record attribute (``subjects.0.date_of_birth`` for a person's)
    message: str


class ValidationError(Exception):
    """One error that lists every problem with a record."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"- {p.message}" for p in problems)
        super().__init__(f"This record can't be saved yet:\n{lines}")

    def for_field(self, name: str) -> list[str]:
        return [p.message for p in self.problems
                if p.field == name or p.field.startswith(name + ".")]


class NotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(f"That {what} could not be found.")


class InvalidChange(Exception):
    """A change that does not make sense in the state its author saw."""
