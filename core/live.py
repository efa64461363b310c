"""Starting a live capture (no Qt): what to run (:class:`StartSpec`), checking the user's choice of source and
calibration (:func:`start_spec`), and opening it (:func:`build_session`, blocking: run it off the GUI thread).

A live run is two camera sources (webcams, two video files played as a synchronised rig, or the shipped demo),
the calibration of those two cameras, and one 2D detector per camera, driven by
:class:`core.pipeline.LivePipeline`. Units: metres (calibration, 3D), pixels (frames), frames per second.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.calibration_io import CalibrationFile, infer_world_up, load_calibration
from core.camera import CameraGroup
from core.capture import CameraSource, DeviceSource, synchronized_videos
from core.detection import DEFAULT_DETECTOR, DETECTOR_LABELS, PoseDetector, detector_factory, detector_kind
from core.errors import CalibrationFileError, InputError
from core.jobs import Cancelled
from core.pipeline import LivePipeline, RefineHook


class SourceKind(enum.StrEnum):
    """Where the two live pictures come from."""

    DEMO = "demo"
    CAMERAS = "cameras"
    VIDEOS = "videos"


@dataclass(frozen=True)
class SourceChoice:
    """What the user picked: the source, and for cameras their device indices and capture settings, for video
    files their two paths (camera 1 first); ``pair`` is which two cameras of the calibration (default: the
    first two)."""

    kind: SourceKind
    devices: tuple[int | None, int | None] = (None, None)
    resolution: tuple[int, int] = (1280, 720)
    fps: float = 30.0
    mjpg: bool = True
    videos: tuple[str, ...] = ()
    pair: tuple[str, str] | None = None


@dataclass
class StartSpec:
    """What a live run opens.

    ``make_sources()`` returns the two camera sources (called in the worker thread: opening may be slow).
    ``calibration`` is a :class:`CalibrationFile`, a :class:`CameraGroup`, or a callable returning one
    (called in the worker). ``cameras``: which two calibration cameras, in source order (default: the first
    two). ``detector`` names the 2D backend ("multi": several people, "single"; default DEFAULT_DETECTOR);
    ``detector_factory``, when given, replaces it (one 2D detector per camera; tests).
    """

    label: str
    make_sources: Callable[[], Sequence[CameraSource]]
    calibration: CalibrationFile | CameraGroup | Callable[[], CalibrationFile | CameraGroup]
    cameras: tuple[str, str] | None = None
    detector_factory: Callable[[], PoseDetector] | None = None
    detector: str = ""
    refine_hook: RefineHook | None = None
    refine_enabled: bool = False
    smoothing: tuple[bool, float] = (True, 0.5)


@dataclass
class LiveSession:
    """A running pipeline and what a display needs to show it."""

    label: str
    pipeline: LivePipeline
    group: CameraGroup  # the two cameras, in source order (world frame, metres)
    calibration: CalibrationFile | None
    world_up: str
    world_up_reason: str
    detector_label: str = ""
    """Which 2D detector runs, in words (empty for a test's own detector)."""

    @property
    def sources(self) -> list[CameraSource]:
        return self.pipeline.sources

    @property
    def camera_names(self) -> list[str]:
        return [s.name for s in self.pipeline.sources]


NO_CALIBRATION = (
    "Live 3D needs a stereo calibration of your two cameras. Load one with Load… (or File ▸ Open calibration), "
    "or calibrate your cameras in the Calibration tab. To see the pipeline without cameras, choose Source ▸ Demo."
)


def camera_pairs(calib: CalibrationFile) -> list[tuple[str, str]]:
    """The ordered camera pairs a user may choose from a calibration of more than two cameras (else none)."""
    names = calib.group.names
    return [(a, b) for a in names for b in names if a != b] if len(names) > 2 else []


def calibration_pair(calib: CalibrationFile, pair: tuple[str, str] | None = None) -> tuple[str, str]:
    """The two cameras of ``calib`` to run: ``pair`` when given, else the first two. InputError with fewer."""
    names = calib.group.names
    if len(names) < 2:
        raise InputError(
            f"The calibration holds {len(names)} camera ({', '.join(names)}); live 3D needs two calibrated "
            "together. Calibrate both cameras in the Calibration tab."
        )
    if pair is not None:
        if pair not in camera_pairs(calib) and tuple(pair) != (names[0], names[1]):
            raise InputError(
                f"the calibration has no camera pair {pair[0]} + {pair[1]}; its cameras are {', '.join(names)}."
            )
        return pair[0], pair[1]
    return names[0], names[1]


def demo_spec() -> StartSpec:
    """The shipped demo: two real recorded views played as a synchronised, looping rig, with their calibration."""
    from core.demo import demo_files, demo_sources

    return StartSpec(
        label="Demo (Pose2Sim)",
        make_sources=lambda: demo_sources(loop=True),
        calibration=lambda: load_calibration(demo_files().calibration),
    )


def start_spec(choice: SourceChoice, calib: CalibrationFile | None) -> StartSpec:
    """The :class:`StartSpec` of the user's ``choice``; :class:`InputError` saying what to do when it cannot run.

    Video files must already be chosen (``choice.videos`` holds two paths).
    """
    if choice.kind is SourceKind.DEMO:
        return demo_spec()
    if calib is None:
        raise InputError(NO_CALIBRATION)
    pair = calibration_pair(calib, choice.pair)
    if choice.kind is SourceKind.CAMERAS:
        if any(i is None for i in choice.devices):
            raise InputError(
                "Two cameras are needed and fewer were found. Connect two webcams and press ⟳, or choose "
                "Source ▸ Demo to see the pipeline without cameras."
            )
        if choice.devices[0] == choice.devices[1]:
            raise InputError("Camera A and camera B are the same device; choose two different cameras.")
        (w, h), fps = choice.resolution, float(choice.fps)
        fourcc = "MJPG" if choice.mjpg else None
        devices = [(int(i), n) for i, n in zip(choice.devices, pair, strict=True)]  # type: ignore[arg-type]

        def open_cameras() -> list[CameraSource]:
            return [DeviceSource(i, name=n, width=w, height=h, fps=fps, fourcc=fourcc) for i, n in devices]

        return StartSpec(
            label="Cameras",
            make_sources=open_cameras,
            calibration=calib,
            cameras=pair,
        )
    paths = list(choice.videos)
    if len(paths) != 2:
        raise InputError(f"Choose exactly two video files (camera 1 and camera 2); {len(paths)} were chosen.")
    return StartSpec(
        label="Video files",
        make_sources=lambda: synchronized_videos(paths, list(pair), loop=True),
        calibration=calib,
        cameras=pair,
    )


def resolve_group(spec: StartSpec) -> tuple[CameraGroup, CalibrationFile | None]:
    """The two cameras of ``spec`` (in source order) and the calibration file they came from, if any."""
    calib = spec.calibration() if callable(spec.calibration) else spec.calibration
    if isinstance(calib, CalibrationFile):
        group, cfile = calib.group, calib
    else:
        group, cfile = calib, None
    if spec.cameras is not None:
        group = group.subset(spec.cameras)
    elif len(group) > 2:
        group = group.subset(group.names[:2])
    if len(group) != 2:
        raise CalibrationFileError(
            f"live 3D needs a calibration of two cameras; this one holds {len(group)} ({', '.join(group.names)}). "
            "Calibrate both cameras together in the Calibration tab."
        )
    return group, cfile


def build_session(
    spec: StartSpec, cancel: threading.Event | None = None, up_axes: Sequence[str] = ("+z", "-y", "+y")
) -> LiveSession:
    """Open the sources, build the pipeline and start it (blocking: seconds; run it off the GUI thread).

    ``up_axes``: the world up axes the display can show (the world's up axis is chosen among them).
    Raises :class:`core.jobs.Cancelled` (with everything stopped again) when ``cancel`` was set meanwhile.
    """
    group, cfile = resolve_group(spec)
    sources = list(spec.make_sources())
    try:
        kind = detector_kind(spec.detector or DEFAULT_DETECTOR)
        factory = spec.detector_factory or detector_factory(kind)
        pipeline = LivePipeline(sources, group, refine_hook=spec.refine_hook, detector_factory=factory)
    except BaseException:
        for s in sources:
            s.stop(timeout=0.5)
        raise
    up, why = infer_world_up(cfile, group, allowed=tuple(up_axes))
    label = "" if spec.detector_factory is not None else DETECTOR_LABELS[kind]
    session = LiveSession(spec.label, pipeline, group, cfile, up, why, label)
    pipeline.set_refine_enabled(spec.refine_enabled)
    pipeline.set_smoothing(*spec.smoothing)
    if cancel is not None and cancel.is_set():
        pipeline.stop()
        raise Cancelled("live capture cancelled while starting.")
    try:
        pipeline.start()
    except BaseException:
        pipeline.stop()
        raise
    return session
