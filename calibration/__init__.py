"""CrossView's stereo calibration engine (no Qt): boards, detection, view selection, intrinsics, stereo,
quality verdict, print sheets, and the headless ``calibrate`` command.

Live (a wizard feeds frames from a worker and shows the snapshots)::

    from calibration import CalibrationSession, parse_board_spec
    session = CalibrationSession(parse_board_spec("chessboard:9x6:0.025"))
    fb = session.process_pair(frame0, frame1)   # PairFeedback: detections, decisions, SessionState
    result = session.solve(progress, cancel)    # progress(done, total, message), a CancelToken -> CalibrationResult
    result.save("calib.toml")

Headless: ``calibrate_from_paths(cam0, cam1, board, out, timestamps=None, progress=None, cancel=None)``.

Modules: :mod:`~calibration.boards` (Board), :mod:`~calibration.io` (board TOML, spec strings),
:mod:`~calibration.printing` (print sheets), :mod:`~calibration.detect` (BoardDetector, Detection),
:mod:`~calibration.selection` (ViewSelector, PairSelector), :mod:`~calibration.intrinsics`,
:mod:`~calibration.stereo`, :mod:`~calibration.quality`, :mod:`~calibration.sources` (video / image
folders, pairing), :mod:`~calibration.engine` (CalibrationSession, CalibrationResult),
:mod:`~calibration.headless` (calibrate_from_paths), :mod:`~calibration.frame_offset` (best_frame_offset:
the frame synchronisation check of two videos), :mod:`~calibration.rectify` (Rectifier).

The wizard's run (no Qt either): :mod:`~calibration.run` (InputSpec, open_recordings, CalibrationRun,
solve_run), :mod:`~calibration.feeds` (RecordingFeed, DeviceFeed) and :mod:`~calibration.live` (CaptureJob,
the capture loop, with CaptureControl and PreviewPacket).
"""

from calibration.boards import Board
from calibration.detect import BoardDetector, Detection, detect_board
from calibration.engine import (
    CalibrationCancelledError,
    CalibrationResult,
    CalibrationSession,
    FrameFeedback,
    PairFeedback,
    SessionState,
)
from calibration.headless import calibrate_from_paths
from calibration.intrinsics import IntrinsicsResult, calibrate_intrinsics, load_intrinsics, quick_calibrate
from calibration.io import load_board, parse_board_spec, resolve_board, save_board
from calibration.printing import render_print_sheet, save_print_sheet
from calibration.quality import QualityReport, assess
from calibration.selection import PairSelector, SelectionState, ViewDecision, ViewSelector
from calibration.stereo import StereoResult, calibrate_stereo, epipolar_errors, floor_frame

__all__ = [
    "Board",
    "BoardDetector",
    "CalibrationCancelledError",
    "CalibrationResult",
    "CalibrationSession",
    "Detection",
    "FrameFeedback",
    "IntrinsicsResult",
    "PairFeedback",
    "PairSelector",
    "QualityReport",
    "SelectionState",
    "SessionState",
    "StereoResult",
    "ViewDecision",
    "ViewSelector",
    "assess",
    "calibrate_from_paths",
    "calibrate_intrinsics",
    "calibrate_stereo",
    "detect_board",
    "epipolar_errors",
    "floor_frame",
    "load_board",
    "load_intrinsics",
    "parse_board_spec",
    "quick_calibrate",
    "render_print_sheet",
    "resolve_board",
    "save_board",
    "save_print_sheet",
]
