"""Which errors may be shown to a person as they are: Sharelog's own, whose texts are
written for people and never carry record content. Anything else (a library error, a bug)
might echo a name or a narrative, so the UI shows its own words instead and the log says
only the type. The one list the dialogs, the error box and the bridge's log all use."""

from __future__ import annotations


def is_safe_error(error: BaseException) -> bool:
    from app.service import InvalidChange, NotFound
    from app.session import VaultError
    from app.sync.account import SignInError
    from app.validation import ValidationError

    return isinstance(error, VaultError | ValidationError | NotFound | InvalidChange
                      | SignInError)
