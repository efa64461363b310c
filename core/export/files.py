"""Where an export goes: the target checked before any work, and written through :mod:`core.atomic`.

The file is written to a temporary name in the target folder and renamed over the target only when it is
complete, so a failed export never leaves a half-written file behind (the old file stays as it was).
"""

from __future__ import annotations

import os
from pathlib import Path

from core.atomic import atomic_output
from core.errors import ExportError


def check_target(path: str | os.PathLike[str]) -> Path:
    """The output path, checked before any work: not a folder, in an existing folder."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a folder; give a file name such as {path / 'motion.trc'}.")
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(
            f"cannot write {path}: the folder {folder} does not exist (or is not a folder); "
            "choose an existing folder or create it first."
        )
    return path


def _write_failed(path: Path, exc: OSError) -> ExportError:
    return ExportError(
        f"cannot write {path}: {exc.strerror or exc}; check the disk has space and the file is not open "
        "in another program."
    )


def write_file(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` (checked by :func:`check_target`) atomically; returns the path.

    :class:`ExportError` when the folder does not let us create the temporary file, or writing or the rename
    fails (disk full, the target open in another program).
    """
    path = check_target(path)
    with atomic_output(path, error=_write_failed, mkdir=False) as tmp:
        try:
            f = open(tmp, "wb")  # noqa: SIM115 - closed below; its own error names the folder
        except OSError as exc:
            raise ExportError(
                f"cannot write {path}: {exc.strerror or exc}; choose a folder you are allowed to write to."
            ) from exc
        with f:
            f.write(data)
    return path
