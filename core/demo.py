"""The demo shipped with CrossView: two views of a real person (Pose2Sim balancing trial, cameras 01 and 04).

It lets a first-time user without webcams see the whole pipeline run live: the two videos are played
as a synchronised camera rig, looping, through the same pipeline as real cameras.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.capture import VideoFileSource, synchronized_videos
from core.errors import InputError

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_CAMERAS = ("cam_01", "cam_04")


@dataclass(frozen=True)
class DemoFiles:
    videos: tuple[Path, Path]
    calibration: Path
    cameras: tuple[str, str] = DEMO_CAMERAS


def demo_files(folder: Path = DEMO_DIR) -> DemoFiles:
    """The demo's videos and calibration; InputError naming the missing file when the install is incomplete."""
    files = DemoFiles(videos=(folder / "cam01.mp4", folder / "cam04.mp4"), calibration=folder / "calibration.toml")
    for p in (*files.videos, files.calibration):
        if not p.is_file():
            raise InputError(
                f"demo file '{p}' is missing. The demo ships with CrossView in data/demo/; "
                "restore it from the repository (git checkout -- data/demo)."
            )
    return files


def demo_sources(loop: bool = True) -> list[VideoFileSource]:
    """The two demo videos as a synchronised, looping camera rig."""
    files = demo_files()
    return synchronized_videos(files.videos, files.cameras, loop=loop)
