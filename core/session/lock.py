"""The live writer's lock on a session folder (``.recording.lock``, ``flock``): :class:`WriterLock` and
:func:`is_recording_live`. The OS releases the lock when the recording process dies, even on SIGKILL. No Qt.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import BinaryIO

from core.errors import SessionError
from core.session.layout import LOCK_FILE


def _try_lock(f: BinaryIO, shared: bool = False) -> bool:
    """Take the lock without waiting (``shared``: a reader's lock, which only a writer's excludes)."""
    try:
        import fcntl

        try:
            fcntl.flock(f.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True


def _unlock(f: BinaryIO) -> None:
    try:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except ImportError:
        import msvcrt

        with contextlib.suppress(OSError):
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)


class WriterLock:
    """The live writer's lock on a session folder (released by the OS when the process dies, even on SIGKILL)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        f = open(self.path, "a+b")  # noqa: SIM115 - held for the recording's lifetime
        if not _try_lock(f):
            f.close()
            raise SessionError(f"session '{folder}' is being recorded by another process; choose another folder.")
        f.truncate(0)
        f.write(f"pid {os.getpid()}\n".encode())
        f.flush()
        self._file: BinaryIO | None = f

    def release(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        _unlock(f)
        f.close()


#: Probes of one process never overlap: two probing threads must not see each other's probe as a writer.
_PROBE = threading.Lock()


def is_recording_live(folder: str | os.PathLike) -> bool:
    """True while a live writer (this process or another) holds the session's lock.

    The probe takes a shared lock (POSIX), which only the writer's exclusive lock refuses, so probes from
    several threads or programs at once never mistake each other for a recording.
    """
    path = Path(folder) / LOCK_FILE
    try:
        f = open(path, "rb")  # noqa: SIM115
    except OSError:
        return False
    try:
        with _PROBE:
            if _try_lock(f, shared=True):
                _unlock(f)
                return False
            return True
    finally:
        f.close()
