"""The ``.task`` bundle the Tasks ``PoseLandmarker`` loads, built offline from the installed mediapipe wheel.

``mediapipe==0.10.21`` ships ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` (Apache-2.0) without the
normalisation metadata the Tasks API asks for. The wheel's own metadata writer adds it (input in [0, 1]: mean 0,
std 255); both models are zipped uncompressed as ``pose_detector.tflite`` + ``pose_landmarks_detector.tflite``.
Nothing is downloaded. The bundle is cached under ``$CROSSVIEW_CACHE`` (default ``~/.cache/crossview``) with a
SHA-256 sidecar; a cached file whose checksum does not match, or that was built from other source models, is
rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

from core.atomic import atomic_write, write_error
from core.detection.single import DetectorError

#: Bump when the way the bundle is built changes (invalidates every cache).
BUNDLE_VERSION = 1
_DETECTOR = ("pose_detection", "pose_detection.tflite", 2)
_LANDMARKS = ("pose_landmark", "pose_landmark_full.tflite", 5)


def cache_dir() -> Path:
    """Where built bundles are kept: ``$CROSSVIEW_CACHE`` or ``~/.cache/crossview``."""
    env = os.environ.get("CROSSVIEW_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "crossview"


def _source_models() -> tuple[bytes, bytes]:
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DetectorError(f"MediaPipe is not installed ({exc}). Install: pip install -r requirements.txt") from None
    root = Path(mp.__file__).parent / "modules"
    out = []
    for folder, name, _ in (_DETECTOR, _LANDMARKS):
        path = root / folder / name
        try:
            out.append(path.read_bytes())
        except OSError as exc:
            raise DetectorError(
                f"MediaPipe's bundled model '{path}' cannot be read ({exc.strerror or exc}); reinstall the pinned "
                "stack: pip install --force-reinstall -r requirements.txt"
            ) from None
    return out[0], out[1]


def _with_metadata(model: bytes, name: str, outputs: int) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name, "MediaPipe Pose (Apache-2.0), metadata added by CrossView")
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    for _ in range(outputs):
        writer.add_feature_output()
    populated = writer.populate()
    return bytes(populated[0] if isinstance(populated, tuple) else populated)


def build_bundle() -> bytes:
    """The bundle's bytes, from the installed wheel's two models (about 9 MB, deterministic)."""
    det, lm = _source_models()
    try:
        det_m = _with_metadata(det, "pose_detector", _DETECTOR[2])
        lm_m = _with_metadata(lm, "pose_landmarks_detector", _LANDMARKS[2])
    except Exception as exc:  # the writer raises plain errors on unexpected models
        raise DetectorError(f"could not prepare MediaPipe's pose models for the Tasks API ({exc}).") from None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for arcname, data in (("pose_detector.tflite", det_m), ("pose_landmarks_detector.tflite", lm_m)):
            info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))  # fixed date: same bytes every build
            z.writestr(info, data)
    return buf.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pose_bundle(folder: str | os.PathLike | None = None) -> Path:
    """The path of a checked ``.task`` bundle, building it into the cache on first use.

    The file name carries a key of the source models and :data:`BUNDLE_VERSION`; ``<name>.sha256`` beside it holds
    the bundle's checksum, verified on every call (about 20 ms). Raises DetectorError when it cannot be built or
    written (the message names the folder; set ``CROSSVIEW_CACHE`` to a writable one).
    """
    det, lm = _source_models()
    key = _sha256(det + lm + str(BUNDLE_VERSION).encode())[:16]
    root = Path(folder) if folder is not None else cache_dir()
    path = root / f"pose_landmarker_full-{key}.task"
    check = path.with_name(path.name + ".sha256")
    try:
        if path.is_file() and check.is_file() and _sha256(path.read_bytes()) == check.read_text().strip():
            return path
    except OSError:
        pass  # unreadable cache: rebuild it
    data = build_bundle()
    err = write_error(DetectorError, "the pose model bundle (set CROSSVIEW_CACHE to a writable folder)")
    atomic_write(path, data, err)
    atomic_write(check, _sha256(data) + "\n", err)
    return path
