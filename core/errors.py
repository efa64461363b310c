"""User-facing errors. Each message says what is wrong and what to do about it."""

from __future__ import annotations


class CrossViewError(Exception):
    """Base of every error meant to be shown to a user (CLI prints it, GUI shows a dialog)."""


class CalibrationFileError(CrossViewError):
    """A calibration file is missing, unreadable or inconsistent."""


class CalibrationError(CrossViewError):
    """A calibration could not be computed from the given views."""


class CameraError(CrossViewError):
    """A camera could not be opened or stopped delivering frames."""


class SessionError(CrossViewError):
    """A session folder is missing, corrupt or inconsistent."""


class ModelError(CrossViewError):
    """A model checkpoint is missing, corrupt or incompatible."""


class InputError(CrossViewError):
    """An input file (keypoints, video, board definition...) is missing or malformed."""


class ExportError(CrossViewError):
    """Motion could not be exported (nothing to export, bad input, unwritable path...)."""
