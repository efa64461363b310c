"""Several people per frame offline: the .task bundle built from the wheel, the Tasks detector, duplicates removed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.detection import Detection, DetectorError, MultiPoseDetector, detector_kind, suppress_duplicates
from core.detection.bundle import build_bundle, pose_bundle
from tests.paths import POSE2SIM, SHARED_DATA, need


def test_the_bundle_is_built_once_checked_and_rebuilt_when_corrupt(tmp_path):
    path = pose_bundle(tmp_path)
    data = path.read_bytes()
    assert path.suffix == ".task" and len(data) > 1_000_000
    assert build_bundle() == data  # deterministic: the same bytes from the same wheel
    mtime = path.stat().st_mtime_ns
    assert pose_bundle(tmp_path) == path and path.stat().st_mtime_ns == mtime  # cached
    path.write_bytes(data[:1000])  # a truncated cache (a crash, a full disk) is detected by its checksum
    assert pose_bundle(tmp_path).read_bytes() == data


def test_an_unwritable_cache_gets_a_clear_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DetectorError, match="CROSSVIEW_CACHE"):
        pose_bundle(blocker / "cache")


@pytest.fixture(scope="module")
def image_detector():
    with MultiPoseDetector(video=False) as det:
        yield det


def test_both_basketball_players_are_found(image_detector):
    img = cv2.imread(str(need(SHARED_DATA / "people" / "basketball1.png")))
    people = image_detector.detect_all(img)
    assert len(people) == 2
    xs = sorted((p.box[0] + p.box[2]) / 2 for p in people)
    assert xs[0] < 0.35 * img.shape[1] < 0.65 * img.shape[1] < xs[1]  # one on each side
    for p in people:
        assert p.found and p.keypoints.shape == (17, 3) and np.isfinite(p.keypoints[:, :2]).all()
        assert p.keypoints[10, 1] < p.keypoints[0, 1]  # head above the pelvis


def test_video_mode_follows_the_subject_of_a_real_video():
    cap = cv2.VideoCapture(str(need(POSE2SIM / "videos" / "cam02.mp4")))
    with MultiPoseDetector() as det:
        counts = []
        for k in range(10):
            ok, img = cap.read()
            assert ok
            people = det.detect_all(img, k / 60)
            counts.append(len(people))
            assert all(p.box is not None for p in people)
    cap.release()
    assert min(counts) >= 1


def _det(x: float, conf: float = 0.9) -> Detection:
    kp = np.zeros((17, 3))
    kp[:, 0] = x + np.linspace(0, 40, 17)
    kp[:, 1] = np.linspace(0, 200, 17)
    kp[:, 2] = conf
    return Detection(kp, found=True, box=(x, 0.0, x + 40, 200.0))


def test_duplicates_are_suppressed_and_the_more_confident_kept():
    kept = suppress_duplicates([_det(0, 0.6), _det(3, 0.9), _det(300)])
    assert len(kept) == 2
    assert kept[0].keypoints[0, 0] in (3.0, 300.0) and {round(k.box[0]) for k in kept} == {3, 300}


def test_a_wrong_backend_name_is_refused_with_the_choices():
    assert detector_kind(" Multi ") == "multi"
    with pytest.raises(DetectorError, match="multi, single"):
        detector_kind("openpose")


def test_video_mode_tracks_as_many_people_as_it_sees_and_searches_on_a_schedule():
    """Live speed: between searches the landmarker for the current head-count runs (no person-detector run while
    everyone stays tracked); the full search with num_poses comes back every search_every frames."""
    img = cv2.imread(str(need(SHARED_DATA / "people" / "basketball1.png")))
    with MultiPoseDetector(search_every=15) as det:
        used: list[int] = []
        make = det._landmarker_for
        det._landmarker_for = lambda n: used.append(n) or make(n)  # type: ignore[method-assign]
        counts = [len(det.detect_all(img, k / 30)) for k in range(20)]  # 0.63 s of a still scene
    assert counts == [2] * 20  # both players, every frame
    assert used[0] == 3 and used[15] == 3  # a full search at the first frame and 15 frames later
    assert set(used[1:15]) == {2} and set(used[16:]) == {2}  # in between: the two-person landmarker


def test_offline_processing_searches_every_frame():
    from core.detection import detector_factory

    det = detector_factory("multi", offline=True)()
    try:
        assert det.search_every == 1
    finally:
        det.close()
