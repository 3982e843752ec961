"""What a person is told when something fails: our own messages only.

Our exception types carry messages written for people. Anything else (a library
error, a bug) might echo record content in its text, so it is never shown.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication


def is_safe_error(error: BaseException) -> bool:
    from app.service import InvalidChange, NotFound
    from app.session import VaultError
    from app.validation import ValidationError

    return isinstance(error, VaultError | ValidationError | NotFound | InvalidChange)


def user_message(error: BaseException) -> str:
    if is_safe_error(error):
        return str(error)
    return QCoreApplication.translate(
        "errors",
        "Sharelog could not finish that. Nothing you saved before has been lost. "
        "If it happens again, tell your administrator.",
    )
