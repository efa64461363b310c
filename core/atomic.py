"""Writing a file so that a crash never leaves half of it: the one home of write-to-temporary-then-rename.

:func:`atomic_output` yields a temporary path beside the target; when the ``with`` block ends without an error
the temporary file is renamed over the target in one step (``os.replace``), else it is removed. Readers see
the old file or the new one, never a mix. :func:`atomic_write` does it for bytes or text.

An ``OSError`` (disk full, no permission, a vanished drive) becomes the caller's user-facing error, made by
``error(path, exc)``; by default an :class:`core.errors.InputError` saying "could not write '<path>': <why>.".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from core.errors import CrossViewError, InputError

#: Makes the user-facing error for a failed write: ``error(path, exc) -> CrossViewError``.
WriteError = Callable[[Path, OSError], CrossViewError]


def write_error(kind: type[CrossViewError] = InputError, what: str = "") -> WriteError:
    """An error maker with the standard message: "could not write <what> '<path>': <reason>."."""

    def make(path: Path, exc: OSError) -> CrossViewError:
        label = f"{what} " if what else ""
        return kind(f"could not write {label}'{path}': {exc.strerror or exc}.")

    return make


def temporary_path(path: str | os.PathLike) -> Path:
    """The temporary name :func:`atomic_output` writes before the rename: ``<name>.tmp`` beside ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".tmp")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, error: WriteError | None = None, mkdir: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; rename it to ``path`` when the block succeeds, remove it otherwise.

    ``mkdir`` creates the parent folder first. ``OSError`` raised while writing or renaming becomes
    ``error(path, exc)``; other exceptions pass through (the temporary file is removed either way).
    """
    path = Path(path)
    make_error = error or write_error()
    tmp = temporary_path(path)
    try:
        if mkdir:
            path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise make_error(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(
    path: str | os.PathLike, data: bytes | str, error: WriteError | None = None, encoding: str = "utf-8"
) -> Path:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_output(path, error) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding=encoding)
        else:
            tmp.write_bytes(data)
    return path
