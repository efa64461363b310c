"""Calibrating two cameras from two videos of a person (the ``calibrate --from-person`` command and the app's
"Calibrate from a person" dialog). No Qt.

Both videos are read in step (frame k with frame k; record them at the same time and start them together), the
person is found in every frame by MediaPipe Pose (one person per view, kept on the person nearest the middle by
:class:`core.detection.PersonFollower`), then :func:`calibration.person.calibrate_from_keypoints` solves the rig.
While the videos are read, ``on_coverage`` receives where the person's joints have been in each view, so a UI can
coach ("walk to the left and right edges").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from calibration.engine import check_cancel, report_at
from calibration.person import PersonCalibration, calibrate_from_keypoints, focal_from_fov
from core import skeleton
from core.calibration_io import load_calibration
from core.camera import Camera, CameraGroup, cameras_for_frames
from core.errors import CalibrationError, CalibrationFileError, InputError
from core.jobs import CancelLike, Progress, scaled_progress
from core.video_io import probe_video

#: The coverage grid's width in cells (its height follows the image's aspect).
COVERAGE_CELLS = 8
#: Width of the preview frames sent with each coverage update, pixels.
PREVIEW_WIDTH = 360
#: Joints above this confidence count for the coverage.
_COVERAGE_CONFIDENCE = 0.5


@dataclass(frozen=True)
class CoverageUpdate:
    """Where the person has been so far: ``grids`` per camera ``(rows, cells)`` counts of confident joints,
    ``frames`` read, ``frames_both`` with the person in both views, ``hint`` the one thing to do next."""

    grids: tuple[np.ndarray, np.ndarray]
    frames: int
    frames_both: int
    total: int
    hint: str
    images: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    """The latest frame of each video, BGR, at most :data:`PREVIEW_WIDTH` wide (None before the first)."""
    keypoints: tuple[np.ndarray, np.ndarray] | None = None
    """The latest ``(17, 3)`` keypoints of each view, full-resolution px."""
    scales: tuple[float, float] = (1.0, 1.0)
    """Preview px per full-resolution px of each image."""

    @property
    def coverage(self) -> tuple[float, float]:
        """Fraction of each camera's grid the person reached."""
        return (float(np.mean(self.grids[0] > 0)), float(np.mean(self.grids[1] > 0)))


def coverage_hint(grids: tuple[np.ndarray, np.ndarray], frames_both: int) -> str:
    """What to do next, from each camera's coverage grid ``(rows, cells)`` and the frames seen by both."""
    for k, g in enumerate(grids):
        cols = np.nonzero(g.sum(axis=0) > 0)[0]
        if not len(cols):
            return f"Camera {k + 1} has not seen the person yet: step into its view."
        if cols.min() > 1:
            return f"Camera {k + 1}: walk towards the LEFT edge of its view."
        if cols.max() < g.shape[1] - 2:
            return f"Camera {k + 1}: walk towards the RIGHT edge of its view."
    if frames_both < 600:
        return "Keep walking around the shared view, nearer and farther (20-60 s in all)."
    return "Enough: the person covered both views."


def _grid_add(grid: np.ndarray, kp: np.ndarray, size: tuple[int, int]) -> None:
    """Count the confident joints ``(17, 3)`` into ``grid`` ``(rows, cells)``."""
    ok = np.isfinite(kp[:, :2]).all(axis=1) & (kp[:, 2] >= _COVERAGE_CONFIDENCE)
    if not ok.any():
        return
    rows, cells = grid.shape
    gx = np.clip((kp[ok, 0] / size[0] * cells).astype(int), 0, cells - 1)
    gy = np.clip((kp[ok, 1] / size[1] * rows).astype(int), 0, rows - 1)
    np.add.at(grid, (gy, gx), 1)


def _update(
    grids: tuple[np.ndarray, np.ndarray], frames: tuple, kp: np.ndarray, done: int, both: int, total: int
) -> CoverageUpdate:
    """A coverage update with small copies of the latest frames."""
    images, scales = [], []
    for f in frames:
        h, w = f.image.shape[:2]
        s = min(1.0, PREVIEW_WIDTH / w)
        images.append(cv2.resize(f.image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA))
        scales.append(s)
    g = (grids[0].copy(), grids[1].copy())
    return CoverageUpdate(
        g,
        done,
        both,
        total,
        coverage_hint(g, both),
        (images[0], images[1]),
        (kp[0].copy(), kp[1].copy()),
        (scales[0], scales[1]),
    )


def detect_person_2d(
    videos: tuple[str | os.PathLike, str | os.PathLike],
    progress: Progress | None = None,
    cancel: CancelLike = None,
    on_coverage: Callable[[CoverageUpdate], None] | None = None,
    max_frames: int | None = None,
) -> np.ndarray:
    """The followed person's H36M-17 keypoints in both videos, frame by frame: ``(2, F, 17, 3)``
    ``[x_px, y_px, confidence]`` (F: the shorter video's frames, or ``max_frames``)."""
    from core.detection import PersonFollower, PoseDetector
    from core.video_io import iter_frame_pairs

    infos = [probe_video(v) for v in videos]
    n = min(i.frame_count for i in infos)
    if max_frames is not None:
        n = min(n, int(max_frames))
    if n < 1:
        raise InputError(f"the videos hold no frames ('{videos[0]}', '{videos[1]}').")
    sizes = [(i.width, i.height) for i in infos]
    rows = [max(1, round(COVERAGE_CELLS * h / w)) for w, h in sizes]
    grids = (np.zeros((rows[0], COVERAGE_CELLS), int), np.zeros((rows[1], COVERAGE_CELLS), int))
    out = np.full((2, n, skeleton.NUM_JOINTS, 3), np.nan)
    out[..., 2] = 0.0
    idx = np.arange(n)
    t_ns = (idx * 1e9 / max(infos[0].fps, 1.0)).astype(np.int64)
    followers = [PersonFollower(PoseDetector()), PersonFollower(PoseDetector())]
    both = 0
    try:
        for pair in iter_frame_pairs([str(v) for v in videos], ["cam_0", "cam_1"], idx, idx, t_ns, t_ns):
            check_cancel(cancel)
            k = pair.index
            seen = []
            for v, frame in enumerate(pair.frames):
                det = followers[v].detect(frame.image)
                if det.found:
                    out[v, k] = det.keypoints
                    _grid_add(grids[v], det.keypoints, sizes[v])
                seen.append(det.found)
            both += all(seen)
            if k % 10 == 0 or k == n - 1:
                report_at(progress, (k + 1) / n, f"finding the person: frame {k + 1}/{n}, {both} in both views")
                if on_coverage is not None:
                    on_coverage(_update(grids, pair.frames, out[:, k], k + 1, both, n))
    finally:
        for f in followers:
            f.close()
            f.detector.close()
    return out


def _intrinsics(
    videos: tuple[str | os.PathLike, str | os.PathLike],
    intrinsics: str | os.PathLike | None,
    fov_deg: float | None,
    names: tuple[str, str],
) -> tuple[tuple[Camera, Camera], bool]:
    """Both cameras' intrinsics (from a calibration file, by index, or from a field of view) and whether the
    focal lengths should be refined (they are when they come from a field of view)."""
    sizes = []
    for v in videos:
        info = probe_video(v)
        sizes.append((info.width, info.height))
    if intrinsics is not None:
        group = load_calibration(intrinsics).group
        picked = []
        for k in (0, 1):
            try:  # the camera of that name in the file, else the file's k-th camera
                cam = group[names[k]] if names[k] in group.names else group[k]
            except IndexError:
                raise CalibrationFileError(
                    f"'{intrinsics}' holds {len(group)} camera(s); two are needed (named {names[0]} and {names[1]}, "
                    "or the first two)."
                ) from None
            picked.append(Camera(names[k], cam.K, cam.dist, size=cam.size))
        adapted, _ = cameras_for_frames(CameraGroup(picked), sizes)
        return (adapted[0], adapted[1]), False
    fov = 70.0 if fov_deg is None else float(fov_deg)
    out = []
    for k, (w, h) in enumerate(sizes):
        f = focal_from_fov((w, h), fov)
        out.append(Camera(names[k], [[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]], np.zeros(5), size=(w, h)))
    return (out[0], out[1]), True


def calibrate_from_person_videos(
    cam0: str | os.PathLike,
    cam1: str | os.PathLike,
    out: str | os.PathLike | None,
    *,
    height_m: float | None = None,
    distance_m: float | None = None,
    intrinsics: str | os.PathLike | None = None,
    fov_deg: float | None = None,
    names: tuple[str, str] = ("cam_0", "cam_1"),
    progress: Progress | None = None,
    cancel: CancelLike = None,
    on_coverage: Callable[[CoverageUpdate], None] | None = None,
    max_frames: int | None = None,
) -> PersonCalibration:
    """Calibrate a stereo pair from two videos of a person walking around, and save it (``out`` None: do not).

    ``height_m`` (the person's height) or ``distance_m`` (between the cameras) sets the scale, metres.
    ``intrinsics``: a calibration TOML holding both cameras' lenses (the cameras named ``names``, else its first
    two; at the videos' resolution, or a crop of a few pixels of it); without it the focal length comes from
    ``fov_deg`` (horizontal field of view, default 70 degrees) and is refined.
    ``progress(done, total, message)``: the detection is the first 70 %.
    """
    if Path(cam0).resolve() == Path(cam1).resolve():
        raise InputError(f"both inputs are the same video ('{cam0}'): give the two cameras' recordings.")
    if names[0] == names[1]:
        raise InputError(f"the two cameras need different names, got {names[0]!r} twice.")
    cams, refine_focal = _intrinsics((cam0, cam1), intrinsics, fov_deg, names)
    if height_m is None and distance_m is None:
        raise CalibrationError("give the person's height (--height) or the distance between the cameras (--distance).")
    kp = detect_person_2d((cam0, cam1), scaled_progress(progress, 0.0, 0.7), cancel, on_coverage, max_frames)
    check_cancel(cancel)
    result = calibrate_from_keypoints(
        kp,
        cams[0],
        cams[1],
        height_m=height_m,
        distance_m=distance_m,
        refine_focal=refine_focal,
        progress=scaled_progress(progress, 0.7, 0.98),
        cancel=cancel,
    )
    info = dict(result.info, inputs={"cam0": str(cam0), "cam1": str(cam1)}, intrinsics=str(intrinsics or ""))
    result = replace(result, info=info)
    if out is not None:
        result = result.save(out)
    report_at(progress, 1.0, "done" if out is None else f"saved {result.path}")
    return result


@dataclass(frozen=True)
class PersonInputs:
    """What a calibration from a person needs (the app's dialog fills it): the two videos, the lenses (a
    calibration TOML, or a horizontal field of view in degrees) and the scale (height or camera distance, metres)."""

    cam0: str
    cam1: str
    height_m: float | None = None
    distance_m: float | None = None
    intrinsics: str | None = None
    fov_deg: float | None = None


def run_person_calibration(
    inputs: PersonInputs,
    progress: Progress | None = None,
    cancel: CancelLike = None,
    on_coverage: Callable[[CoverageUpdate], None] | None = None,
) -> PersonCalibration:
    """:func:`calibrate_from_person_videos` on ``inputs``, not saved (the caller saves where the user says)."""
    return calibrate_from_person_videos(
        inputs.cam0,
        inputs.cam1,
        None,
        height_m=inputs.height_m,
        distance_m=inputs.distance_m,
        intrinsics=inputs.intrinsics or None,
        fov_deg=inputs.fov_deg,
        progress=progress,
        cancel=cancel,
        on_coverage=on_coverage,
    )
