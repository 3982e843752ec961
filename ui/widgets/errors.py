"""What a person is told when something fails: our own messages only.

Our exception types carry messages written for people. Anything else (a library
error, a bug) might echo record content in its text, so it is never shown.
"""

from __future__ import annotations

import errno

from PySide6.QtCore import QCoreApplication

from app.shown_errors import is_safe_error

__all__ = ["is_safe_error", "user_message"]


def user_message(error: BaseException) -> str:
    if is_safe_error(error):
        return str(error)
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        # The vault's own errors already say this; a file written elsewhere may not.
        return QCoreApplication.translate(
            "errors", "There is not enough free space on the disk, so that was not saved. "
            "Free some space (delete or move large files) and try again.")
    return QCoreApplication.translate(
        "errors",
        "Sharelog could not finish that. Nothing you saved before has been lost. "
        "If it happens again, tell your administrator.",
    )
