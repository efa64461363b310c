"""The one command-line interface of CrossView: argparse subcommands, declared here and nowhere else.

``python main.py`` with no subcommand starts the GUI; every subcommand runs headless.
Handlers import their libraries lazily so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core import __version__
from core.errors import CrossViewError

Handler = Callable[[argparse.Namespace], int]


def _split_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if len(names) < 2:
        raise CrossViewError(f"--cameras needs at least two comma-separated names, got {text!r}.")
    from core.camera import repeated_names

    repeated = repeated_names(names)
    if repeated:
        raise CrossViewError(f"--cameras names {', '.join(map(repr, repeated))} more than once; give each camera once.")
    return names


def _positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (argparse turns the ValueError into a usage error, exit code 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):  # NaN fails the first test
        raise argparse.ArgumentTypeError(f"{text!r} must be a number greater than 0")
    return value


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False, default=str))


# --------------------------------------------------------------------------- triangulate
def _add_triangulate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--calib", required=True, type=Path, help="calibration TOML (anipose/Pose2Sim layout)")
    p.add_argument(
        "--keypoints",
        required=True,
        type=Path,
        help="npz with one (F, 17, 3) array [x_px, y_px, confidence] per camera name (H36M-17 order)",
    )
    p.add_argument("--cameras", help="comma-separated camera names to use, e.g. cam_01,cam_04 (default: all)")
    p.add_argument("--out", required=True, type=Path, help="output npz (points in metres, world frame)")
    p.add_argument("--min-confidence", type=float, default=0.3, help="ignore 2D keypoints below this confidence")
    p.add_argument("--refine", action="store_true", help="also refine with CV-UGCN (two cameras): adds 'refined'")
    p.add_argument(
        "--model",
        type=Path,
        help="CV-UGCN checkpoint for --refine (default: the shipped offline model, else the live one)",
    )
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto", help="where to run --refine")
    p.add_argument(
        "--fps",
        type=_positive_float,
        help="frame rate of the keypoints for --refine with a temporal model, where the file has no time_s",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def _run_triangulate(args: argparse.Namespace) -> int:
    from core.batch import triangulate_keypoints_file

    refine, model_id = None, ""
    if args.refine or args.model:
        from core.sync import frame_rate
        from models.checkpoint import offline_checkpoint
        from models.refiner import Refiner, refine_points

        refiner = Refiner(args.model or offline_checkpoint(), device=args.device)
        model_id = refiner.id
        refine = lambda pts, kp, cams, t: refine_points(pts, kp, cams, refiner, frame_rate(t) or args.fps)  # noqa: E731
    summary = triangulate_keypoints_file(
        calib=args.calib,
        keypoints=args.keypoints,
        out=args.out,
        cameras=_split_names(args.cameras),
        min_confidence=args.min_confidence,
        log=None if args.json else print,
        refine=refine,
        model_id=model_id,
    )
    if args.json:
        _print_json(summary)
    return 0


# --------------------------------------------------------------------------- calibrate
def _add_calibrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cam0", required=True, help="camera 1: a video file, a folder of images or a glob (left*.jpg)")
    p.add_argument("--cam1", required=True, help="camera 2: a video file, a folder of images or a glob")
    p.add_argument(
        "--board",
        help="board TOML (CrossView or Caliscope charuco.toml), or chessboard:COLSxROWS:SQUARE_M, "
        "or charuco:COLSxROWS:SQUARE_M:MARKER_M:DICT[:legacy][:inverted] (not with --from-person)",
    )
    p.add_argument(
        "--from-person",
        action="store_true",
        help="no board: calibrate from a person walking around the shared view (two videos recorded together)",
    )
    p.add_argument("--height", type=float, help="--from-person: the person's height, metres (sets the scale)")
    p.add_argument("--distance", type=float, help="--from-person: the distance between the two cameras, metres")
    p.add_argument("--intrinsics", type=Path, help="--from-person: a calibration TOML with both cameras' lenses")
    p.add_argument(
        "--fov", type=float, help="--from-person without --intrinsics: horizontal field of view, degrees (default 70)"
    )
    p.add_argument("--out", required=True, type=Path, help="calibration TOML to write (metres)")
    p.add_argument("--timestamps", type=Path, help="capture times CSV used to pair video frames")
    p.add_argument("--names", default="cam_0,cam_1", help="camera names written in the file (default cam_0,cam_1)")
    p.add_argument(
        "--bundle",
        choices=("auto", "on", "off"),
        default="auto",
        help="bundle adjustment of both cameras, their pose and every board pose: auto (default) keeps it only when "
        "held-out pairs agree better; on keeps it; off skips it",
    )
    p.add_argument(
        "--max-frame-offset",
        type=float,
        default=None,
        help="largest shift of camera 2's video frames tried by the synchronisation check, frames (default 2; 0: off)",
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def _progress_bar(json_mode: bool) -> Callable[[int, int, str], None] | None:
    """The calibrate command's bar (a ``core.jobs.Progress``: ``done`` of ``total`` steps)."""
    if json_mode:
        return None

    def show(done: int, total: int, message: str = "") -> None:
        fraction = done / total if total > 0 else 0.0
        width = 30
        filled = int(round(width * max(0.0, min(1.0, fraction))))
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:5.1f}% {message[:60]:<60}",
            end="",
            file=sys.stderr,
        )
        if fraction >= 1.0:
            print(file=sys.stderr)

    return show


def _run_calibrate(args: argparse.Namespace) -> int:
    from calibration.headless import calibrate_from_paths
    from core.errors import InputError

    names = _split_names(args.names)
    if args.from_person:
        return _run_calibrate_from_person(args, names)
    if not args.board:
        raise InputError("calibrate needs --board (the printed board), or --from-person to calibrate without one.")
    result = calibrate_from_paths(
        args.cam0,
        args.cam1,
        args.board,
        args.out,
        timestamps=args.timestamps,
        progress=_progress_bar(args.json),
        names=tuple(names),
        bundle={"auto": "auto", "on": True, "off": False}[args.bundle],
        **({} if args.max_frame_offset is None else {"max_frame_offset": _frame_offset(args.max_frame_offset)}),
    )
    return _print_result(result, args.json)


def _run_calibrate_from_person(args: argparse.Namespace, names: list[str]) -> int:
    from calibration.person_videos import calibrate_from_person_videos
    from core.errors import InputError

    if args.board:
        raise InputError("--from-person calibrates without a board: drop --board (or drop --from-person).")
    if (args.height is None) == (args.distance is None):
        raise InputError("--from-person needs the person's --height in metres, or the --distance between the cameras.")
    if args.intrinsics is not None and args.fov is not None:
        raise InputError("give --intrinsics (known lenses) or --fov (a field of view), not both.")
    result = calibrate_from_person_videos(
        args.cam0,
        args.cam1,
        args.out,
        height_m=args.height,
        distance_m=args.distance,
        intrinsics=args.intrinsics,
        fov_deg=args.fov,
        names=(names[0], names[1]),
        progress=_progress_bar(args.json),
    )
    return _print_result(result, args.json)


def _print_result(result: Any, json_mode: bool) -> int:
    """Print a calibration's figures (JSON, or its summary for people) and return the exit code 0."""
    if json_mode:
        _print_json(result.to_json())
    else:
        print(file=sys.stderr)
        print(result.summary())
    return 0


def _frame_offset(value: float) -> float:
    from core.errors import InputError

    if not (0.0 <= value <= 10.0):
        raise InputError(f"--max-frame-offset must be between 0 and 10 frames, got {value:g}.")
    return value


def _add_print_board(p: argparse.ArgumentParser) -> None:
    p.add_argument("--board", required=True, help="board TOML or spec, as for calibrate")
    p.add_argument("--out", required=True, type=Path, help="sheet to write: .pdf or .png, at true physical size")
    p.add_argument("--paper", default="A4", help="paper size: A4, Letter, A3 ... (default A4)")
    p.add_argument("--dpi", type=float, default=300.0)


def _run_print_board(args: argparse.Namespace) -> int:
    from calibration.io import resolve_board
    from calibration.printing import save_print_sheet

    board = resolve_board(args.board)
    save_print_sheet(board, args.out, paper=args.paper, dpi=args.dpi)
    print(f"wrote {args.out}: {board.describe()} on {args.paper}; print at 100% scale (no 'fit to page').")
    return 0


# --------------------------------------------------------------------------- sessions
def _add_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("video_a", type=Path, help="video of the first camera")
    p.add_argument("video_b", type=Path, help="video of the second camera")
    p.add_argument("--calib", required=True, type=Path, help="calibration TOML of the two cameras")
    p.add_argument("--cameras", help="the calibration's names of the two cameras, in video order (e.g. cam_01,cam_04)")
    p.add_argument(
        "--timestamps",
        type=Path,
        help="capture times of every frame: CrossView's camera,frame_index,t_ns or Caliscope's "
        "sync_index,cam_id,frame_time (s); without it frames pair by index",
    )
    p.add_argument("--reencode", action="store_true", help="re-encode the videos to MJPEG/AVI instead of copying")
    p.add_argument("--out", required=True, type=Path, help="the new session folder")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def _run_import(args: argparse.Namespace) -> int:
    from core.jobs import text_progress
    from core.session.importing import import_videos

    summary = import_videos(
        args.video_a,
        args.video_b,
        args.calib,
        args.out,
        cameras=_split_names(args.cameras),
        timestamps=args.timestamps,
        reencode=args.reencode,
        progress=None if args.json else text_progress(),
    ).to_dict()
    if args.json:
        _print_json(summary)
    else:
        for w in summary["warnings"]:
            print(f"warning: {w}", file=sys.stderr)
        print(
            f"session {summary['session']}: {summary['pairs']} frame pairs ({summary['pairing']}) from "
            f"{', '.join(f'{n} {c} frames' for n, c in summary['frames'].items())}"
        )
    return 0


def _add_process(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", type=Path, help="session folder")
    p.add_argument("--no-refine", action="store_true", help="skip the CV-UGCN refinement")
    p.add_argument(
        "--detector",
        default="multi",
        help="2D detector: 'multi' (several people, the followed one tracked in 3D; default) or 'single' "
        "(the legacy one-person MediaPipe solution)",
    )
    p.add_argument(
        "--person",
        default="followed",
        help="whose 3D: 'followed' (default, poses3d.npz), a track id, or 'all' (each person seen by both cameras "
        "also gets its own poses3d_person<ID>.npz)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def _run_process(args: argparse.Namespace) -> int:
    from core.detection import detector_kind
    from core.jobs import text_progress
    from core.pipeline import describe_refine_fallbacks
    from core.session.processing import process_session, refine_fallbacks_of

    summary = process_session(
        args.session,
        refine=not args.no_refine,
        progress=text_progress(),
        refine_loader=_load_refine_hook,
        detector=detector_kind(args.detector),
        person=args.person,
    ).to_dict()
    if args.json:
        _print_json(summary)
    else:
        for w in summary["warnings"]:
            print(f"warning: {w}", file=sys.stderr)
        err = summary["median_reprojection_error_px"]
        print(
            f"{summary['frames']} frames, {summary['percent_with_3d']:.1f}% with 3D, median reprojection error "
            f"{'n/a' if err is None else f'{err:.2f} px'}; 2D: {summary['detector']}; "
            f"refinement: {summary['refinement']}"
            + (f" ({guard})" if (guard := describe_refine_fallbacks(refine_fallbacks_of(summary))) else "")
            + "; "
            f"{summary['seconds']:.1f} s ({summary['seconds_per_100_frames']:.1f} s per 100 frames)"
        )
    return 0


def _load_refine_hook() -> tuple[object | None, str, str]:
    """The shipped CV-UGCN model for ``process`` (loaded when processing starts), or why it is skipped."""
    try:
        from models.refiner import load_refine_hook
    except ImportError as exc:
        return None, f"skipped: no refinement model is available (models.refiner.default_refine_hook: {exc})", ""
    return load_refine_hook()


def _add_export(p: argparse.ArgumentParser) -> None:
    from core.export import FORMATS

    p.add_argument("session", type=Path, help="processed session folder")
    p.add_argument("--format", required=True, choices=FORMATS, help="output format")
    p.add_argument("--which", choices=("coarse", "refined"), help="which 3D (default: refined when available)")
    p.add_argument(
        "--lowpass-hz",
        type=float,
        help="zero-phase Butterworth low-pass before writing (no lag), e.g. 6 (Pose2Sim's default)",
    )
    p.add_argument(
        "--person",
        default="followed",
        help="whose 3D: 'followed' (default), a track id, or 'all' (one file per person, <out>_person<ID>.<ext>); "
        "needs `process --person` first",
    )
    p.add_argument("--out", required=True, type=Path, help="output file")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def _run_export(args: argparse.Namespace) -> int:
    from core.errors import InputError
    from core.session.exporting import export_people, export_session

    kwargs = {"which": args.which, "lowpass_hz": args.lowpass_hz}
    person = str(args.person).strip().lower()
    if person == "all":
        summaries = [x.to_dict() for x in export_people(args.session, args.format, args.out, **kwargs)]
    else:
        track = None if person == "followed" else int(person) if person.isdigit() else -1
        if track == -1:
            raise InputError(f"--person must be 'followed', 'all' or a track id (0, 1, ...), got {args.person!r}.")
        summaries = [export_session(args.session, args.format, args.out, person=track, **kwargs).to_dict()]
    if args.json:
        _print_json(summaries[0] if len(summaries) == 1 and person != "all" else summaries)
    else:
        for summary in summaries:
            print(
                f"wrote {summary['out']}: {summary['frames']} frames ({summary['frames_with_3d']} with 3D, "
                f"{summary['which']}), world up {summary['up_axis']} ({summary['up_axis_reason']})"
            )
    return 0


# --------------------------------------------------------------------------- train
def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "sessions",
        nargs="+",
        type=Path,
        help="session folders (keypoints2d.npz + calibration.toml), or keypoints npz files with a calibration beside",
    )
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    p.add_argument("--init", help="checkpoint to start from (default: the shipped model; 'scratch' for a new one)")
    p.add_argument("--out", required=True, type=Path, help="checkpoint to write (the best epoch is kept)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (Amsgrad)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument(
        "--losses",
        default="finetune",
        help="loss preset: finetune, paper, structure-heavy or 2d-only (default finetune)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from <out>.state.pt")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def _run_train(args: argparse.Namespace) -> int:
    from models.train import train_from_paths

    summary = train_from_paths(
        args.sessions,
        epochs=args.epochs,
        device=args.device,
        init_checkpoint=args.init,
        out=args.out,
        lr=args.lr,
        batch_size=args.batch_size,
        log=(lambda _m: None) if args.json else print,
        loss_preset=args.losses,
        seed=args.seed,
        resume=args.resume,
    )
    if args.json:
        _print_json(summary)
    return 0


# --------------------------------------------------------------------------- stream
def _add_stream(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", type=Path, help="processed session folder (poses3d.npz)")
    p.add_argument("--vmc", metavar="HOST:PORT", help="send VMC over OSC/UDP (VSeeFace, EVMC4U, VMC4B; port 39539)")
    p.add_argument(
        "--json-udp", metavar="HOST:PORT", help="send one JSON line per frame over UDP (schema crossview.pose/1)"
    )
    p.add_argument("--fps", type=float, default=30.0, help="most frames per second to send (default 30)")
    p.add_argument("--loop", action="store_true", help="replay the take again and again until Ctrl+C")
    p.add_argument("--which", choices=("raw", "refined"), help="which 3D (default: refined when available)")
    p.add_argument("--person", type=int, help="a track id whose own 3D `process --person` wrote (default: followed)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def _run_stream(args: argparse.Namespace) -> int:
    from core.stream.replay import stream_session

    to = ", ".join(x for x in (args.vmc and f"VMC {args.vmc}", args.json_udp and f"JSON {args.json_udp}") if x)
    if to and not args.json:  # no target: stream_session says what to give
        print(f"streaming {args.session} to {to} at up to {args.fps:g} fps" + (" (Ctrl+C stops)" if args.loop else ""))
    try:
        summary = stream_session(
            args.session,
            vmc=args.vmc,
            json_udp=args.json_udp,
            fps=args.fps,
            loop=args.loop,
            which=args.which,
            person=args.person,
            on_loop=None if args.json else (lambda n: print(f"  loop {n} done", flush=True)),
        )
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    if args.json:
        _print_json(summary.to_dict())
    else:
        st = summary.stats
        print(
            f"sent {st.sent} frames ({summary.which}) in {summary.seconds:.1f} s, {st.dropped} dropped, "
            f"{st.send_errors} not delivered{f' ({st.last_error})' if st.last_error else ''}; "
            f"{st.cost_us:.0f} us per frame"
        )
    return 0


#: name -> (help, add_arguments, handler)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {
    "triangulate": (
        "triangulate 2D keypoints from several calibrated cameras into 3D (npz in, npz out)",
        _add_triangulate,
        _run_triangulate,
    ),
    "calibrate": (
        "stereo-calibrate two cameras from videos or image folders of a chessboard or ChArUco board",
        _add_calibrate,
        _run_calibrate,
    ),
    "import": ("make a session from two videos and a calibration", _add_import, _run_import),
    "process": ("detect, triangulate and refine every frame pair of a session", _add_process, _run_process),
    "export": ("export a processed session's 3D motion (TRC, C3D, CSV, JSON, BVH)", _add_export, _run_export),
    "train": (
        "fine-tune CV-UGCN on recorded sessions with weak supervision (no 3D ground truth)",
        _add_train,
        _run_train,
    ),
    "stream": (
        "replay a processed session as a live stream: VMC over OSC and/or JSON over UDP",
        _add_stream,
        _run_stream,
    ),
    "print-board": (
        "write a calibration board as a PDF/PNG sheet at true physical size",
        _add_print_board,
        _run_print_board,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (used by main.py and by tests)."""
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="CrossView: live 3D human motion capture from two webcams. "
        "Without a command, the desktop application starts.",
    )
    parser.add_argument("--version", action="version", version=f"CrossView {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="start the app with the demo running (two recorded views of a real person)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, (help_text, add_args, handler) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command (or the GUI). Returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from app.gui import run_gui

        return run_gui(args)
    try:
        return args.handler(args)
    except CrossViewError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
