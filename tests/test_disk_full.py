"""A full disk (issue 14, part 3): the real recorder records the demo pair into a small file system (a 6 MB tmpfs
where the test may mount one, else a 3 MB file-size limit, RLIMIT_FSIZE) in a child process. It stops by itself
with a clear message, and what it wrote stays readable and recovers. An export that cannot be written says so and
leaves no partial file."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.session.avi import count_video_frames
from core.session.recovery import recover
from core.session.session import Session
from tests.test_bad_sessions import processed  # noqa: F401  (the module fixture: a processed demo session)

REPO = Path(__file__).resolve().parents[1]

_CHILD = """
import json, resource, signal, sys, threading, time
sys.path.insert(0, {repo!r})
limit = {limit}
if limit:  # no tmpfs: a file-size limit instead (writes past it fail with EFBIG)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
{argv_code}
"""

_RECORD = """
from core.calibration_io import load_calibration
from core.capture import synchronized_videos
from core.demo import demo_files
from core.pipeline import LivePipeline
from core.session.recorder import RecorderState, SessionRecorder


class Nobody:
    def detect_all(self, image, t_s):
        return []

    def close(self):
        pass


files = demo_files()
cal = load_calibration(files.calibration, cameras=list(files.cameras))
pipe = LivePipeline(synchronized_videos(files.videos, files.cameras, loop=True), cal.group, detector_factory=Nobody)
rec = SessionRecorder.attach(pipe, {folder!r}, meta_interval_s=0.2)
pipe.start()
end = time.monotonic() + 60
while rec.state is not RecorderState.FAILED and time.monotonic() < end:
    threading.Event().wait(0.05)
stats = rec.stats()
pipe.stop()
print(json.dumps({{"state": str(rec.state), "error": stats.error, "written": list(stats.frames_written)}}))
"""

_EXPORT = """
from cli import main
sys.exit(main(["export", {session!r}, "--format", "c3d", "--out", {out!r}]))
"""


@contextlib.contextmanager
def small_disk(folder: Path, size_mb: int, mode: str) -> Iterator[int]:
    """``mode`` "tmpfs": a tmpfs of ``size_mb`` at ``folder`` (yields 0; skips where mounting is not allowed);
    "rlimit": a plain folder and the byte limit the child sets on itself (yields it)."""
    folder.mkdir()
    if mode == "rlimit":
        yield size_mb * 1024 * 1024 // 2
        return
    mounted = (
        shutil.which("mount") is not None
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    )
    if not mounted:
        pytest.skip("this machine does not let the test mount a tmpfs (the rlimit case covers it)")
    try:
        yield 0
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _child(code: str, limit: int) -> subprocess.CompletedProcess:
    script = _CHILD.format(repo=str(REPO), limit=limit, argv_code=code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("mode", ["tmpfs", "rlimit"])
def test_a_recording_that_fills_the_disk_stops_cleanly_and_stays_readable(mode, tmp_path):
    with small_disk(tmp_path / "disk", 6, mode) as limit:
        folder = tmp_path / "disk" / "full"
        run = _child(_RECORD.format(folder=str(folder)), limit)
        assert run.returncode == 0, run.stderr[-2000:]
        report = json.loads(run.stdout.strip().splitlines()[-1])
        assert report["state"] == "failed", report
        assert report["error"].startswith("The disk is full"), report["error"]
        assert "saved and readable" in report["error"] and "Free disk space" in report["error"]
        written = report["written"]
        assert min(written) >= 1
        # what is on the full disk reads back as it is: every video frame the table lists
        s = Session.open(folder)
        ts = s.timestamps(strict=False)
        for name in s.names:
            assert count_video_frames(s.video_path(name)) >= len(ts[name]) - 1
        copy = tmp_path / "copy"  # with space again (another drive), the session opens or recovers
        shutil.copytree(folder, copy)
    s = recover(copy) if Session.open(copy).meta.status == "recording" else Session.open(copy)
    ts = s.check()
    for name in s.names:
        assert len(list(s.iter_frames(name))) == len(ts[name]) >= 1
    assert s.meta.status in ("complete", "recovered")


@pytest.mark.parametrize("mode", ["tmpfs", "rlimit"])
def test_an_export_onto_a_full_disk_says_so_and_leaves_nothing(mode, processed, tmp_path):  # noqa: F811
    with small_disk(tmp_path / "disk", 1, mode) as limit:
        if not limit:  # fill the tmpfs so that the export cannot fit
            with contextlib.suppress(OSError), open(tmp_path / "disk" / "filler", "wb") as f:
                f.write(b"\0" * (1024 * 1024))
        limit = limit and 4096
        before = sorted(p.name for p in (tmp_path / "disk").iterdir())
        out = tmp_path / "disk" / "take.c3d"
        run = _child(_EXPORT.format(session=str(processed), out=str(out)), limit)
        assert run.returncode == 2, (run.returncode, run.stderr[-1500:])
        err = run.stderr.strip().splitlines()[-1]
        assert err.startswith("error: cannot write") and str(out) in err and "space" in err, err
        assert "Traceback" not in run.stderr
        assert sorted(p.name for p in (tmp_path / "disk").iterdir()) == before  # no partial file, no .tmp
