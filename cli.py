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

from core import __version__
from core.errors import CrossViewError

Handler = Callable[[argparse.Namespace], int]


def _split_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if len(names) < 2:
        raise CrossViewError(f"--cameras needs at least two comma-separated names, got {text!r}.")
    return names


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
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def _run_triangulate(args: argparse.Namespace) -> int:
    from core.batch import triangulate_keypoints_file

    summary = triangulate_keypoints_file(
        calib=args.calib,
        keypoints=args.keypoints,
        out=args.out,
        cameras=_split_names(args.cameras),
        min_confidence=args.min_confidence,
        log=None if args.json else print,
    )
    if args.json:
        _print_json(summary)
    return 0


#: name -> (help, add_arguments, handler)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {
    "triangulate": (
        "triangulate 2D keypoints from several calibrated cameras into 3D (npz in, npz out)",
        _add_triangulate,
        _run_triangulate,
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
