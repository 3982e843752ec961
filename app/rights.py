"""Who may change what, on this device: the rules the team's store applies to every
pushed change (``server/sync.py``), said before a change is made, so that a change the
store would refuse is never saved and the window can say why a button is off.

- A record is corrected or withdrawn (and its conflicts resolved) only by its owner: the
  practitioner who made it, under any of their ids (this vault's local id, the account's,
  or a local id the store named as theirs).
- A follow-up is changed by whoever holds it, or by a manager of the team.
- Only a manager gives a follow-up to someone else.

They hold once the vault knows its role, as the store gave it at sign-in
(``record_binding(role=)``, ``learn_people(roles=)``). A vault that does not (not signed in
yet: it holds only its own records; or bound by a Sharelog that did not keep the role) is
not refused here, and the store decides when it syncs.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.unit import Unit

PRACTITIONER = "practitioner"
MANAGER = "manager"

NOT_OWNER = "Only the practitioner who made this record can correct or withdraw it."
NOT_HOLDER = "Only the person who holds this follow-up, or a manager, can change it."
NOT_MANAGER = "Only a manager can give a follow-up to someone else."


@dataclass(frozen=True)
class Member:
    """A member of the team, as the store named them at sign-in."""

    user_id: str
    name: str
    role: str


@dataclass(frozen=True)
class TeamView:
    """What the window needs to say who is who (read on the vault worker, used on the UI
    thread): this person's ids, role, the names the store gave, the team's members."""

    my_ids: tuple[str, ...]
    role: str
    names: dict[str, str]
    aliases: dict[str, str]
    members: tuple[Member, ...]

    @property
    def is_manager(self) -> bool:
        return self.role == MANAGER

    def is_me(self, user_id: str) -> bool:
        return user_id in self.my_ids or self.aliases.get(user_id, "") in self.my_ids

    def name(self, user_id: str) -> str:
        """The person's name as the store gave it ("Unknown user" only when none was)."""
        return self.names.get(user_id) or self.names.get(self.aliases.get(user_id, ""),
                                                         "Unknown user")

    def ids_of(self, user_id: str) -> tuple[str, ...]:
        """Every id one member's records may carry (their account's and local ones)."""
        return (user_id, *sorted(a for a, acct in self.aliases.items() if acct == user_id))


class Rights:
    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    def is_me(self, user_id: str) -> bool:
        mine = self.unit.identity.my_ids
        return user_id in mine or self.unit.aliases.get(user_id, "") in mine

    @property
    def role(self) -> str:
        """This vault's user's role on the store ("" before sign-in)."""
        return self.unit.roles.get(self.unit.identity.user_id, "")

    @property
    def is_manager(self) -> bool:
        return self.role == MANAGER

    def record_refusal(self, owner_id: str) -> str:
        """Why this user may not correct or withdraw a record ("" when they may)."""
        return "" if not self.role or self.is_me(owner_id) else NOT_OWNER

    def followup_refusal(self, holder_id: str, *, reassign: bool = False) -> str:
        """Why this user may not make this change to a follow-up ("" when they may)."""
        if self.is_manager or not self.role:
            return ""
        if reassign:
            return NOT_MANAGER
        return "" if self.is_me(holder_id) else NOT_HOLDER

    def members(self) -> list[Member]:
        """The team's practitioners and managers by name (whose roles the store gave)."""
        unit = self.unit
        return sorted((Member(uid, unit.user_name(uid), role) for uid, role in unit.roles.items()
                       if role in (PRACTITIONER, MANAGER) and uid not in unit.aliases),
                      key=lambda m: (m.name.casefold(), m.user_id))

    def view(self) -> TeamView:
        unit = self.unit
        return TeamView(unit.identity.my_ids, self.role, dict(unit.users), dict(unit.aliases),
                        tuple(self.members()))
