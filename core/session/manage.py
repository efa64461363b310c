"""Renaming and deleting session folders, with the checks that keep a recording and the user's files safe. No Qt.

Each step raises :class:`core.errors.SessionError` with the sentence to show; nothing is changed on any error.
Moving a folder to the trash is the desktop's job (the app does it); :func:`delete_session` deletes for good.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from core.errors import SessionError
from core.session.layout import SESSION_FILE
from core.session.lock import is_recording_live

__all__ = [
    "check_deletable",
    "check_not_recording",
    "delete_session",
    "rename_session",
    "rename_target",
    "valid_session_name",
]


#: The longest session folder name, in UTF-8 bytes (file systems allow 255; the session's files are added inside).
MAX_NAME_BYTES = 200


def valid_session_name(name: str) -> bool:
    """A folder name for a session: not empty, not hidden, no path separator, at most 200 bytes (UTF-8)."""
    return (
        bool(name)
        and name not in (".", "..")
        and not name.startswith(".")
        and not re.search(r"[/\\\x00]", name)
        and len(name.encode("utf-8", "replace")) <= MAX_NAME_BYTES
    )


def check_not_recording(folder: Path) -> None:
    """SessionError while a recorder writes ``folder``."""
    if is_recording_live(folder):
        raise SessionError(f"'{folder.name}' is being recorded; stop the recording first.")


def rename_target(folder: Path, new_name: str) -> Path:
    """The path ``folder`` would have under ``new_name``; SessionError for a bad or taken name."""
    if not valid_session_name(new_name):
        shown = new_name if len(new_name) <= 60 else new_name[:57] + "..."
        raise SessionError(
            f"'{shown}' cannot be a folder name: use letters, digits, spaces, '-', '_' and '.' (no '/', not starting "
            f"with '.', at most {MAX_NAME_BYTES} bytes)."
        )
    target = folder.with_name(new_name)
    if target.exists():
        raise SessionError(f"'{new_name}' already exists in {folder.parent}; choose another name.")
    return target


def rename_session(folder: Path, new_name: str) -> Path:
    """Rename the session folder (checked by :func:`rename_target`); returns the new path."""
    check_not_recording(folder)
    target = rename_target(folder, new_name)
    try:
        folder.rename(target)
    except OSError as exc:
        raise SessionError(
            f"'{folder.name}' could not be renamed: {exc.strerror or exc}. Nothing was changed."
        ) from None
    return target


def check_deletable(folder: Path) -> None:
    """SessionError unless ``folder`` is a session folder that no recorder writes."""
    check_not_recording(folder)
    if not (folder / SESSION_FILE).is_file():
        raise SessionError(f"'{folder}' does not look like a session folder any more; nothing was deleted.")


def delete_session(folder: Path) -> None:
    """Delete the session folder for good (checked by :func:`check_deletable`)."""
    check_deletable(folder)
    try:
        shutil.rmtree(folder)
    except OSError as exc:
        raise SessionError(f"'{folder.name}' could not be deleted completely: {exc.strerror or exc}.") from None
