"""Every persisted user setting, typed, with its key written once: :class:`Settings`.

``Settings`` wraps a ``QSettings`` (the user's, or an INI file for tests and ``--settings-dir``). Each setting
is a class attribute of a typed descriptor, read and written as a plain attribute::

    settings.live_fps = 30
    folder = settings.calibration_dir  # a Path, or None when never chosen

Values keep the layout earlier versions wrote (booleans as ``"true"``/``"false"``), so existing settings files
still load. A value of the wrong type reads as the default, never as an exception. Nothing else in the app
calls ``QSettings.value`` with a string key.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Generic, TypeVar

from PySide6 import QtCore

log = logging.getLogger(__name__)

ORGANISATION = "CrossView"
APPLICATION = "CrossView"

T = TypeVar("T")


class _Key(Generic[T]):
    """One setting: its QSettings key and default; subclasses convert to and from what QSettings stores."""

    def __init__(self, key: str, default: T) -> None:
        self.key = key
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        owner._keys = {**getattr(owner, "_keys", {}), name: self}  # noqa: SLF001

    def __get__(self, obj: Settings | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        raw = obj.qsettings.value(self.key, None)
        if raw is None:
            return self.default
        try:
            return self.decode(raw)
        except (TypeError, ValueError):
            log.warning("setting %s holds %r, not a valid value; using the default", self.key, raw)
            return self.default

    def __set__(self, obj: Settings, value: T) -> None:
        if value is None:
            obj.qsettings.remove(self.key)
        else:
            obj.qsettings.setValue(self.key, self.encode(value))

    def decode(self, raw: Any) -> T:
        return raw

    def encode(self, value: T) -> Any:
        return value


class _Str(_Key[str]):
    def decode(self, raw: Any) -> str:
        if isinstance(raw, (list, tuple, dict)):
            raise TypeError(raw)
        return str(raw)


class _Int(_Key[int]):
    def decode(self, raw: Any) -> int:
        return int(float(raw))


class _OptInt(_Key["int | None"]):
    """An integer that may be unset (None); an empty value reads as None."""

    def decode(self, raw: Any) -> int | None:
        text = str(raw).strip()
        return int(float(text)) if text else None


class _Float(_Key[float]):
    def decode(self, raw: Any) -> float:
        return float(raw)


class _Bool(_Key[bool]):
    def decode(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off", ""):
            return False
        raise ValueError(raw)

    def encode(self, value: bool) -> str:
        return "true" if value else "false"


class _Path(_Key["Path | None"]):
    """A folder or file; an empty value reads as None."""

    def decode(self, raw: Any) -> Path | None:
        text = _Str(self.key, "").decode(raw).strip()
        return Path(text).expanduser() if text else None

    def encode(self, value: Path | str) -> str:
        return str(Path(value).expanduser()) if str(value).strip() else ""


class _StrList(_Key[list[str]]):
    def decode(self, raw: Any) -> list[str]:
        if isinstance(raw, str):
            return [raw] if raw else []
        if not isinstance(raw, (list, tuple)):
            raise TypeError(raw)
        return [str(v) for v in raw if v is not None and str(v)]

    def encode(self, value: list[str]) -> list[str]:
        return [str(v) for v in value]


class _Bytes(_Key["QtCore.QByteArray | None"]):
    def decode(self, raw: Any) -> QtCore.QByteArray | None:
        if isinstance(raw, QtCore.QByteArray):
            return None if raw.isEmpty() else raw
        if isinstance(raw, (bytes, bytearray)):
            return QtCore.QByteArray(bytes(raw)) if raw else None
        raise TypeError(raw)


class _Json(_Key["dict[str, Any] | None"]):
    def decode(self, raw: Any) -> dict[str, Any] | None:
        text = str(raw)
        if not text:
            return None
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError(raw)
        return value

    def encode(self, value: dict[str, Any]) -> str:
        return json.dumps(value)


class Settings:
    """The app's settings (see the module docstring). ``qsettings`` defaults to the user's own."""

    _keys: dict[str, _Key[Any]]

    # --- main window
    window_geometry = _Bytes("mainwindow/geometry", None)
    window_state = _Bytes("mainwindow/state", None)
    window_tab = _Str("mainwindow/tab", "")

    # --- folders shared by several tabs
    #: where calibrations are opened from and saved to (File ▸ Open, the Calibration tab, the wizard, Live)
    calibration_dir = _Path("paths/calibration_dir", None)
    #: the folder that holds the sessions (recordings land here)
    sessions_root = _Path("sessions/root", None)

    # --- calibration wizard
    calibration_input_dir = _Path("calibration/input_dir", None)
    calibration_input_kind = _Str("calibration/input_kind", "")
    calibration_videos_paths = _StrList("calibration/videos_paths", [])
    calibration_images_paths = _StrList("calibration/images_paths", [])
    calibration_board_dir = _Path("calibration/board_dir", None)
    calibration_board_spec = _Str("calibration/board_spec", "")
    person_videos = _StrList("calibration/person_videos", [])
    person_height_m = _Float("calibration/person_height_m", 1.75)
    person_fov_deg = _Float("calibration/person_fov_deg", 70.0)
    person_intrinsics = _Str("calibration/person_intrinsics", "")

    # --- live tab
    live_source = _Str("live/source", "")
    live_resolution = _Str("live/resolution", "1280x720")
    live_fps = _Int("live/fps", 30)
    live_mjpg = _Bool("live/mjpg", True)
    live_smoothing = _Bool("live/smoothing", True)
    live_smoothing_strength = _Int("live/smoothing_strength", 50)
    live_show_coarse = _Bool("live/show_coarse", True)
    live_sync_overlay = _Bool("live/sync_overlay", True)
    live_videos = _StrList("live/videos", [])
    live_camera0 = _OptInt("live/camera0", None)
    live_camera1 = _OptInt("live/camera1", None)
    stream_protocol = _Str("stream/protocol", "vmc")
    stream_host = _Str("stream/host", "127.0.0.1")
    stream_vmc_port = _Int("stream/vmc_port", 39539)
    stream_json_port = _Int("stream/json_port", 39540)
    stream_fps = _Int("stream/fps", 30)
    stream_source = _Str("stream/source", "smoothed")
    detector = _Str("detection/detector", "multi")
    """The 2D detector backend: "multi" (several people) or "single" (core.detection.DetectorKind)."""

    # --- sessions tab and export
    import_dir = _Path("paths/import_dir", None)
    process_refine = _Bool("sessions/refine", True)
    export_format = _Str("export/format", "trc")
    export_dir = _Path("export/dir", None)

    # --- training tab and the active model
    active_model = _Path("model/active", None)
    models_folder = _Path("training/models_folder", None)
    training_extra_sources = _StrList("training/extra_sources", [])
    training_epochs = _Int("training/epochs", 30)
    training_lr = _Float("training/lr", 1e-3)
    training_batch_size = _Int("training/batch_size", 256)
    training_loss_preset = _Str("training/loss_preset", "finetune")
    training_loss_weights = _Json("training/loss_weights", None)
    training_device = _Str("training/device", "auto")
    training_init = _Str("training/init", "")

    #: earlier versions kept the calibration folder under this key as well
    _LEGACY_CALIBRATION_DIR = "calibration/save_dir"

    def __init__(self, qsettings: QtCore.QSettings | None = None) -> None:
        self.qsettings = qsettings if qsettings is not None else QtCore.QSettings(ORGANISATION, APPLICATION)
        self._migrate()

    @classmethod
    def in_folder(cls, folder: str | Path) -> Settings:
        """Settings kept in ``<folder>/CrossView.ini`` (tests, ``--settings-dir``)."""
        path = Path(folder) / "CrossView.ini"
        return cls(QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat))

    @classmethod
    def keys(cls) -> dict[str, str]:
        """``{attribute: QSettings key}`` of every setting."""
        return {name: k.key for name, k in cls._keys.items()}

    def live_camera(self, slot: int) -> int | None:
        """The device index last chosen for camera ``slot`` (0 or 1) of the Live tab."""
        return self.live_camera1 if slot else self.live_camera0

    def set_live_camera(self, slot: int, device_id: int) -> None:
        if slot:
            self.live_camera1 = device_id
        else:
            self.live_camera0 = device_id

    def calibration_paths(self, kind: str) -> list[str]:
        """The two recordings last chosen in the wizard, ``kind`` ``"videos"`` or ``"images"``."""
        return self.calibration_images_paths if kind == "images" else self.calibration_videos_paths

    def set_calibration_paths(self, kind: str, paths: list[str]) -> None:
        if kind == "images":
            self.calibration_images_paths = paths
        else:
            self.calibration_videos_paths = paths

    def sync(self) -> None:
        """Write to disk now (Qt also does it by itself)."""
        self.qsettings.sync()

    def _migrate(self) -> None:
        """One calibration folder: fold the old second key into ``paths/calibration_dir``."""
        q = self.qsettings
        legacy = q.value(self._LEGACY_CALIBRATION_DIR, None)
        if legacy is None:
            return
        if self.calibration_dir is None and str(legacy).strip():
            self.calibration_dir = Path(str(legacy))
        q.remove(self._LEGACY_CALIBRATION_DIR)
