"""The sessions list without widgets: the rows of a sessions folder (hidden and foreign folders skipped, an
unreadable session reported as such), and naming the camera a video file shows."""

from __future__ import annotations

from core.session.importing import guess_camera, import_videos
from core.session.listing import scan_sessions
from tests.paths import POSE2SIM, need


def test_listing_and_camera_guessing(tmp_path):
    videos = POSE2SIM / "videos"
    cam01, cam04, calib = need(videos / "cam01.mp4"), need(videos / "cam04.mp4"), need(POSE2SIM / "Calib_qualisys.toml")
    import_videos(cam01, cam04, calib, tmp_path / "a", cameras=["cam_01", "cam_04"])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "session.json").write_text("{not json")
    (tmp_path / ".a.importing-1").mkdir()  # an import in progress: hidden
    (tmp_path / "not-a-session").mkdir()
    rows = {r.name: r for r in scan_sessions(tmp_path)}
    assert set(rows) == {"a", "broken"}
    assert rows["a"].status == "complete" and rows["a"].pairs == 100 and rows["a"].size_bytes > 1_000_000
    assert rows["broken"].status == "unreadable" and "not valid JSON" in rows["broken"].error
    names = ["cam_01", "cam_02", "cam_03", "cam_04"]
    assert guess_camera("videos/cam04.mp4", names) == "cam_04" and guess_camera("left.avi", names) is None


def test_probing_a_lock_from_many_threads_never_sees_a_recording_that_is_not_there(tmp_path):
    """The sessions list and the unfinished-recordings check probe the same folders at the same time: a probe
    must not take another probe for a live writer (it once listed a crashed recording as 'recording')."""
    import threading

    from core.session.layout import LOCK_FILE
    from core.session.lock import WriterLock, is_recording_live

    folder = tmp_path / "crashed"
    folder.mkdir()
    (folder / LOCK_FILE).write_bytes(b"pid 1\n")  # left behind by a killed recorder: nobody holds it
    seen: list[bool] = []
    start = threading.Barrier(6)

    def probe() -> None:
        start.wait(5)
        seen.extend(is_recording_live(folder) for _ in range(300))

    threads = [threading.Thread(target=probe) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(seen) == 1800 and not any(seen)
    lock = WriterLock(folder)  # a live writer (in this process) is seen, from any thread
    try:
        assert is_recording_live(folder)
        out: list[bool] = []
        t = threading.Thread(target=lambda: out.append(is_recording_live(folder)))
        t.start()
        t.join(5)
        assert out == [True]
    finally:
        lock.release()
    assert not is_recording_live(folder)
