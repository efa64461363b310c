"""Calibration files: read and write the anipose/Pose2Sim TOML layout; also read Caliscope's camera_array.toml.

The anipose/Pose2Sim layout has one table per camera::

    [cam_01]
    name = "cam_01"
    size = [width, height]                    # pixels
    matrix = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    distortions = [k1, k2, p1, p2, k3]        # 4 or 5 values
    rotation = [rx, ry, rz]                   # Rodrigues, world -> camera
    translation = [tx, ty, tz]                # world -> camera
    fisheye = false

    [metadata]
    units = "m"                               # CrossView always writes metres

FreeMoCap writes translations in millimetres with the same layout and no ``units``
key; such files are recognised by their magnitude and the assumption is reported.
Caliscope writes ``[cameras.N]`` tables (rotation as a 3x3 matrix or Rodrigues,
translation in metres).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from core import __version__
from core.atomic import atomic_write, write_error
from core.camera import Camera, CameraGroup, repeated_names, rodrigues_to_matrix
from core.errors import CalibrationFileError
from core.up_axis import AXIS_VECTORS, UP_AXES

#: Translations whose largest magnitude exceeds this (in file units) are taken as millimetres
#: when the file does not say. A camera 30 m from the origin is implausible for body capture,
#: while 30 mm is implausibly close for a stereo rig's world origin to every camera.
_MM_THRESHOLD = 30.0
#: Sane magnitudes of a calibration's numbers (anything beyond is a damaged or hand-edited file): pixels for
#: the camera matrix and image size, unitless distortion coefficients, file units for translations.
_LIMITS = {"matrix": 1e6, "size": 1e5, "distortions": 1e3, "rotation": 1e3, "translation": 1e7}

_UNIT_SCALE = {
    "m": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "mm": 1e-3,
    "millimeter": 1e-3,
    "millimeters": 1e-3,
    "millimetre": 1e-3,
    "millimetres": 1e-3,
    "cm": 1e-2,
    "centimeter": 1e-2,
    "centimeters": 1e-2,
    "centimetre": 1e-2,
    "centimetres": 1e-2,
}


@dataclass
class CalibrationFile:
    """A calibration read from disk, with what was assumed while reading it."""

    group: CameraGroup
    path: Path | None
    units: str
    """Unit the file's translations were read in ("m", "mm" or "cm")."""
    units_assumed: bool
    """True when the file did not state its unit and ``units`` was inferred."""
    units_note: str
    """A sentence for the user saying which unit was used and why."""
    format: str
    """"anipose" (anipose/Pose2Sim/FreeMoCap/CrossView layout) or "caliscope"."""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def world_up(self) -> str | None:
        """The world frame's up axis as recorded in the file ("+z", "-y", ...) or None if unknown."""
        up = self.metadata.get("world_up")
        return str(up) if up else None


def _err(path: Path | None, camera: str | None, fld: str | None, msg: str) -> CalibrationFileError:
    where = f"calibration file '{path}'" if path else "calibration"
    if camera:
        where += f", camera '{camera}'"
    if fld:
        where += f", field '{fld}'"
    return CalibrationFileError(f"{where}: {msg}")


def _has_text(value: Any) -> bool:
    """Whether a TOML value holds text or booleans where numbers belong (numpy would convert them silently)."""
    if isinstance(value, (str, bool)):
        return True
    return isinstance(value, (list, tuple)) and any(_has_text(v) for v in value)


def _array(path: Path | None, cam: str, table: dict, key: str, shapes: Sequence[tuple[int, ...]]) -> np.ndarray:
    """Read ``table[key]`` as a finite float array of one of ``shapes`` (checked, with a clear error)."""
    if key not in table:
        raise _err(path, cam, key, "is missing. Recalibrate, or fix the file by hand.")
    raw = table[key]
    if _has_text(raw):
        raise _err(path, cam, key, f'must be numbers, not text or true/false (got {raw!r}); write 1.0, not "1.0".')
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise _err(path, cam, key, f"must be numbers, got {raw!r}.") from None
    if arr.dtype == object:
        raise _err(path, cam, key, f"must be a regular array of numbers, got {raw!r}.")
    for shape in shapes:
        if arr.shape == shape:
            break
        if arr.size == int(np.prod(shape)) and arr.squeeze().shape == tuple(s for s in shape if s != 1):
            arr = arr.reshape(shape)
            break
    else:
        wanted = " or ".join("x".join(map(str, s)) for s in shapes)
        raise _err(path, cam, key, f"has shape {'x'.join(map(str, arr.shape)) or 'scalar'}, expected {wanted}.")
    if not np.all(np.isfinite(arr)):
        raise _err(path, cam, key, "contains NaN or infinite values. Recalibrate this camera.")
    limit = _LIMITS.get(key)
    if limit is not None and np.abs(arr).max(initial=0.0) > limit:
        raise _err(
            path,
            cam,
            key,
            f"holds {np.abs(arr).max():.3g}, far beyond any real camera (limit {limit:g}). "
            "The file is damaged or mistyped; recalibrate this camera.",
        )
    return arr


def _parse_camera(
    path: Path | None, key: str, table: Any, scale: float, caliscope: bool = False
) -> tuple[Camera, float]:
    """Parse one camera table; returns the camera (metres) and its largest raw translation component."""
    if not isinstance(table, dict):
        raise _err(path, key, None, "is not a table of camera parameters.")
    name = str(table.get("name", key))
    K = _array(path, name, table, "matrix", [(3, 3)])
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise _err(path, name, "matrix", "focal lengths must be positive.")
    dist = _array(path, name, table, "distortions", [(5,), (4,), (8,), (12,), (14,)])
    if table.get("fisheye", False):
        raise _err(path, name, "fisheye", "fisheye cameras are not supported; calibrate with the pinhole model.")
    if dist.size > 5 and np.any(dist[5:] != 0):
        raise _err(path, name, "distortions", "only k1, k2, p1, p2, k3 are supported (rational model found).")
    size = _array(path, name, table, "size", [(2,)])
    if np.any(size <= 0):
        raise _err(path, name, "size", f"image size must be positive, got {size.tolist()}.")
    rot = _array(path, name, table, "rotation", [(3,), (3, 3)] if caliscope else [(3,), (3, 3)])
    R = rodrigues_to_matrix(rot) if rot.shape == (3,) else rot
    if abs(np.linalg.det(R) - 1.0) > 1e-3 or not np.allclose(R @ R.T, np.eye(3), atol=1e-3):
        raise _err(path, name, "rotation", "is not a rotation (not orthonormal with determinant +1).")
    t = _array(path, name, table, "translation", [(3,)])
    raw_max = float(np.abs(t).max())
    cam = Camera(name=name, K=K, dist=dist[:5], R=R, t=t * scale, size=(int(size[0]), int(size[1])))
    return cam, raw_max


def _declared_units(data: dict) -> str | None:
    meta = data.get("metadata", {}) if isinstance(data.get("metadata"), dict) else {}
    for src in (meta, data):
        for k in ("units", "unit", "translation_units"):
            if isinstance(src.get(k), str):
                return src[k].strip().lower()
    return None


def load_calibration(
    path: str | os.PathLike,
    expected_cameras: int | None = None,
    cameras: Sequence[str] | None = None,
    units: str = "auto",
) -> CalibrationFile:
    """Read a calibration file (anipose/Pose2Sim/FreeMoCap TOML or Caliscope camera_array.toml).

    ``expected_cameras``: raise if the file holds another number of cameras.
    ``cameras``: keep only these camera names, in this order (raise if one is missing).
    ``units``: "auto" (the file's ``units`` key, else inferred from magnitudes), "m" or "mm".
    Raises :class:`CalibrationFileError` naming the file, the camera and the field on any problem.
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationFileError(
            f"calibration file '{path}' does not exist. Calibrate with the wizard or pass the right path."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CalibrationFileError(
            f"calibration file '{path}' is not valid TOML ({exc}). Is it the right file? Recalibrate if it is corrupt."
        ) from None

    fmt = "anipose"
    if isinstance(data.get("cameras"), dict):
        fmt = "caliscope"
        tables = {f"cam_{k}": v for k, v in data["cameras"].items()}
    else:
        tables = {k: v for k, v in data.items() if k != "metadata" and isinstance(v, dict)}
        if any("port" in v or "cam_id" in v for v in tables.values()):
            fmt = "caliscope"
    tables = {k: v for k, v in tables.items() if not (isinstance(v, dict) and v.get("ignore", False))}
    if not tables:
        raise CalibrationFileError(
            f"calibration file '{path}' holds no camera tables ([cam_1], [cam_2], ...). "
            "It may be a board or settings file rather than a calibration."
        )

    declared = _declared_units(data) if units == "auto" else units.lower()
    if declared is not None and declared not in _UNIT_SCALE:
        raise _err(path, None, "units", f'unknown unit {declared!r}; use "m" or "mm".')

    # First pass in file units to judge magnitudes, then rescale.
    parsed = [_parse_camera(path, k, v, 1.0, caliscope=(fmt == "caliscope")) for k, v in tables.items()]
    raw_max = max(m for _, m in parsed)
    if declared is not None:
        unit = {1.0: "m", 1e-3: "mm", 1e-2: "cm"}[_UNIT_SCALE[declared]]
        assumed = False
        note = f"translations read in {unit}, as the file states"
    else:
        assumed = True
        if fmt == "caliscope":
            unit = "m"
            note = "translations assumed in metres (Caliscope's convention; the file states no unit)"
        elif raw_max > _MM_THRESHOLD:
            unit = "mm"
            note = (
                f"translations assumed in millimetres (FreeMoCap's convention): the file states no unit "
                f"and its largest translation is {raw_max:.0f}"
            )
        else:
            unit = "m"
            note = (
                f"translations assumed in metres: the file states no unit and its largest translation is {raw_max:.3g}"
            )
    scale = _UNIT_SCALE[unit]
    cams = [c.with_pose(c.R, c.t * scale) for c, _ in parsed]
    names = [c.name for c in cams]
    dupes = repeated_names(names)
    if dupes:
        tables_of = [k for k, (c, _) in zip(tables, parsed, strict=True) if c.name in dupes]
        raise CalibrationFileError(
            f"calibration file '{path}' names more than one camera {', '.join(map(repr, dupes))} "
            f"(tables {', '.join(f'[{t}]' for t in tables_of)}); give each camera its own name."
        )

    if cameras is not None:
        missing = [n for n in cameras if n not in names]
        if missing:
            raise CalibrationFileError(
                f"calibration file '{path}' has no camera named {', '.join(map(repr, missing))}; "
                f"it holds {names}. Pick cameras from that list, or use a calibration made for these cameras."
            )
        cams = [next(c for c in cams if c.name == n) for n in cameras]
    if expected_cameras is not None and len(cams) != expected_cameras:
        raise CalibrationFileError(
            f"calibration file '{path}' holds {len(cams)} camera(s) ({', '.join(c.name for c in cams)}), "
            f"but {expected_cameras} are needed. Choose which cameras to use, or recalibrate."
        )

    meta = dict(data.get("metadata", {})) if isinstance(data.get("metadata"), dict) else {}
    origin = meta.get("origin") if meta.get("origin") in [c.name for c in cams] else None
    group = CameraGroup(cams, origin=origin)
    return CalibrationFile(
        group=group, path=path, units=unit, units_assumed=assumed, units_note=note, format=fmt, metadata=meta
    )


def _clean(value: Any) -> Any:
    """Make metadata TOML-serialisable (numpy scalars/arrays to Python, drop None and NaN)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value if v is not None]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return value


def calibration_to_dict(group: CameraGroup, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The TOML document for a camera group (metres) as a dict."""
    doc: dict[str, Any] = {}
    for cam in group:
        doc[cam.name] = {
            "name": cam.name,
            "size": [int(cam.size[0]), int(cam.size[1])],
            "matrix": cam.K.tolist(),
            "distortions": cam.dist.tolist(),
            "rotation": cam.rvec.tolist(),
            "translation": cam.t.tolist(),
            "fisheye": False,
        }
    meta: dict[str, Any] = {"adjusted": False, "error": 0.0}
    meta.update(_clean(metadata or {}))
    meta["units"] = "m"
    meta.setdefault("created", _dt.datetime.now().astimezone().isoformat(timespec="seconds"))
    meta.setdefault("software", f"CrossView {__version__}")
    if group.origin is not None:
        meta.setdefault("origin", group.origin)
    doc["metadata"] = meta
    return doc


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else tomli_w.dumps({key: 0}).split(" = ")[0]


def _inline(value: Any) -> str:
    """One TOML value on one line (numbers at full precision; matrices as nested inline arrays)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return tomli_w.dumps({"v": value})[4:].strip()


def save_calibration(path: str | os.PathLike, group: CameraGroup, metadata: dict[str, Any] | None = None) -> Path:
    """Write a calibration TOML (anipose/Pose2Sim layout, translations in metres, ``units = "m"``).

    The file is written to a temporary name and renamed, so a crash never leaves half a file.
    ``metadata`` goes to the ``[metadata]`` table (e.g. board, RMS figures, world_up).
    """
    path = Path(path)
    doc = calibration_to_dict(group, metadata)
    meta = doc.pop("metadata")
    text = "# CrossView calibration. Units: metres (translation), pixels (matrix, size).\n"
    text += "# Extrinsics map world to camera: X_cam = R(rotation) @ X_world + translation.\n"
    for name, table in doc.items():
        text += f"\n[{_toml_key(name)}]\n"
        text += "".join(f"{k} = {_inline(v)}\n" for k, v in table.items())
    text += "\n" + tomli_w.dumps({"metadata": meta})
    return atomic_write(path, text, error=write_error(CalibrationFileError, "calibration file"))


def infer_world_up(
    calibration: CalibrationFile | None, group: CameraGroup, allowed: Sequence[str] = UP_AXES
) -> tuple[str, str]:
    """The world frame's up axis (``"+z"``, ``"-y"``...) and how it was decided, as a short phrase.

    The one rule, used by export, the 3D view and sessions:

    1. the calibration's ``world_up`` metadata, when it is one of ``allowed``;
    2. a world that is a camera's own frame (``group.origin`` set): ``"-y"`` (image y points down);
    3. the cameras' image-up directions (``-R[1]`` in world coordinates) averaged: the allowed axis nearest to
       them when they agree (cosine > 0.5); else ``"+z"`` (or the first allowed axis).
    """
    declared = calibration.world_up if calibration is not None else None
    if declared is not None:
        spec = declared.strip().lower()
        spec = "+" + spec if len(spec) == 1 else spec
        if spec in allowed:
            return spec, "from the calibration"
    if group.origin is not None and "-y" in allowed:
        return "-y", f"world is camera '{group.origin}' frame"
    fallback = "+z" if "+z" in allowed else allowed[0]
    if len(group) == 0:
        return fallback, "assumed (no cameras)"
    mean = -np.stack([c.R[1] for c in group]).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm > 1e-9:
        mean /= norm
        best = max(allowed, key=lambda k: float(mean @ AXIS_VECTORS[k]))
        if float(mean @ AXIS_VECTORS[best]) > 0.5:
            return best, "inferred from the cameras"
    return fallback, "assumed (cameras disagree)"
