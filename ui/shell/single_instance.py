"""One Sharelog per data folder and user: a second launch brings the running window forward.

The window lists every vault in the data folder (one per person, ``app.vaults``) and has
one of them open at a time; each vault's own lock file still guards it alone.

The first Sharelog for a data folder holds ``sharelog.instance.lock`` there (a
QLockFile: process id and host, no content) and listens on a local socket named
from the folder. A later launch finds the lock held, connects, asks the running
one to come forward and quits before opening anything. Whatever slips past (another
front end, a second user) still meets the vault's own lock file and VaultInUse.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

log = logging.getLogger("sharelog.ui")

LOCK_NAME = "sharelog.instance.lock"
SHOW = b"show\n"
CONNECT_MS = 1000
# A first instance that is still starting gets this long to begin listening.
STARTING_TRIES = 20


def socket_name(base: Path) -> str:
    """Short (Unix socket paths are limited), per user and per data folder, no content."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{base.resolve()}".encode()).hexdigest()
    return f"sharelog-{digest[:24]}"


class SingleInstance(QObject):
    """``claim()`` is True for the first instance; ``activated`` fires on a second launch."""

    activated = Signal()

    def __init__(self, base: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        base.mkdir(parents=True, exist_ok=True)
        self.name = socket_name(base)
        self._lock = QLockFile(str(base / LOCK_NAME))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone
        self._server: QLocalServer | None = None

    def claim(self) -> bool:
        """Become the running Sharelog, or tell the running one to come forward (False)."""
        for _ in range(STARTING_TRIES):
            if self._lock.tryLock(0):
                self._listen()
                return True
            if self._ask_to_show():
                return False
            # The holder is starting and not listening yet, or its lock is stale.
            self._lock.removeStaleLockFile()
            if self._lock.tryLock(200):
                self._listen()
                return True
        log.warning("another Sharelog holds the instance lock but does not answer")
        return True  # the vault's own lock still refuses a second open

    def _listen(self) -> None:
        QLocalServer.removeServer(self.name)  # a socket left by a crash
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning("second launches cannot reach this Sharelog (%s)", server.errorString())
            return
        server.newConnection.connect(self._on_connection)
        self._server = server

    def _ask_to_show(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_MS):
            return False
        socket.write(QByteArray(SHOW))
        socket.flush()
        socket.waitForBytesWritten(CONNECT_MS)
        socket.waitForReadyRead(CONNECT_MS)  # the running one answers once it has acted
        socket.disconnectFromServer()
        return True

    def _on_connection(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._on_message(s))
            socket.disconnected.connect(socket.deleteLater)

    def _on_message(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(SHOW.strip()):
            log.info("a second launch: the running window comes forward")
            self.activated.emit()
            socket.write(QByteArray(b"ok\n"))
            socket.flush()

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.unlock()


def bring_forward(window: QWidget) -> None:
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
