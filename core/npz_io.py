"""Reading an ``.npz`` safely: :func:`read_npz` turns every way such a file can be wrong (empty, truncated, an
``.npy`` under an ``.npz`` name, a damaged member, a zip bomb, pickled objects) into one clear error naming it."""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.errors import CrossViewError

#: The most an npz may expand to (bytes; an hour of 60 fps 3D is about 0.1 GB): larger is a damaged file or a zip
#: bomb, refused before anything is decompressed.
MAX_NPZ_BYTES = 2 * 1024**3


def read_npz(
    path: str | os.PathLike,
    error: type[CrossViewError],
    what: str,
    keys: Sequence[str] | None = None,
    fix: str = "",
) -> dict[str, np.ndarray]:
    """The arrays of an npz ``{name: array}`` (only ``keys`` when given; a missing one is an error).

    Anything wrong raises ``error`` naming ``what`` (e.g. "keypoints file") and the file, plus ``fix`` (what to
    do). Sizes are checked from the zip directory before anything is decompressed.
    """
    path = Path(path)
    where = f"{what} '{path}'"
    tail = f" {fix}" if fix else ""
    if not path.is_file():
        raise error(f"{where} does not exist.{tail}")
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise error(f"{where} is empty (0 bytes): it was not written completely.{tail}")
    if head.startswith(b"\x93NUMPY"):
        raise error(f"{where} is a single .npy array, not an .npz archive; save it with numpy.savez.{tail}")
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise error(f"{where} is not a readable .npz (truncated or not a zip archive: {exc}).{tail}") from None
    if total > MAX_NPZ_BYTES:
        raise error(
            f"{where} would expand to {total / 1e9:.1f} GB, more than the {MAX_NPZ_BYTES / 1e9:.0f} GB any CrossView "
            f"file holds; it is damaged or not what it seems.{tail}"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files) if keys is None else list(keys)
            missing = [k for k in names if k not in z.files]
            if missing:
                raise error(f"{where} has no {', '.join(map(repr, missing))} array (it holds {z.files}).{tail}")
            return {k: np.asarray(z[k]) for k in names}
    except CrossViewError:
        raise
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile, zlib.error) as exc:
        raise error(f"{where} is damaged: {type(exc).__name__}: {str(exc)[:160]}.{tail}") from None
