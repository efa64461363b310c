"""The task contract below Qt (core.jobs) and the one home of the up axis (core.up_axis)."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest

from core.errors import InputError
from core.jobs import Cancelled, CancelToken, check_cancel, is_cancelled, scaled_progress, text_progress, throttled
from core.up_axis import UP_AXES, parse_up_axis, rotation_to_y_up, rotation_to_z_up


def test_cancel_token_is_an_event_and_raises_cancelled():
    tok = CancelToken()
    assert isinstance(tok, threading.Event) and not tok.cancelled and not is_cancelled(tok)
    tok.raise_if_cancelled()  # not set: nothing happens
    tok.cancel()
    assert tok.cancelled and tok.is_set() and is_cancelled(tok) and is_cancelled(lambda: True)
    with pytest.raises(Cancelled, match="nothing was written"):
        tok.raise_if_cancelled()
    with pytest.raises(Cancelled):
        check_cancel(tok)
    check_cancel(None)


def test_scaled_progress_maps_a_sub_job_into_its_share():
    seen: list[tuple[int, int, str]] = []
    sub = scaled_progress(lambda d, t, m="": seen.append((d, t, m)), 0.5, 0.75, steps=1000)
    sub(0, 4, "a")
    sub(2, 4, "b")
    sub(9, 4, "over")  # clipped to the end of the share
    sub(1, 0, "unknown total")
    assert seen == [(500, 1000, "a"), (625, 1000, "b"), (750, 1000, "over"), (500, 1000, "unknown total")]


def test_throttled_progress_passes_the_first_and_the_final_report():
    now = [0.0]
    seen: list[int] = []
    report = throttled(lambda d, t, m="": seen.append(d), every_s=1.0, clock=lambda: now[0])
    for k in range(10):
        report(k, 10)
        now[0] += 0.3
    report(10, 10)
    assert seen[0] == 0 and seen[-1] == 10 and len(seen) < 8


def test_text_progress_bar():
    buf = io.StringIO()
    bar = text_progress(buf, width=10, every_s=0.0)
    bar(5, 10, "half")
    bar(10, 10, "done")
    text = buf.getvalue()
    assert "[#####.....] 5/10 half" in text and text.endswith("\n") and "[##########] 10/10" in text


@pytest.mark.parametrize("up", UP_AXES)
def test_up_axis_rotations_are_proper_and_put_up_where_they_say(up):
    v = np.eye(3)["xyz".index(up[1])] * (1.0 if up[0] == "+" else -1.0)
    for R, target in ((rotation_to_z_up(up), [0, 0, 1]), (rotation_to_y_up(up), [0, 1, 0])):
        assert np.isclose(np.linalg.det(R), 1.0) and np.allclose(R @ R.T, np.eye(3))
        assert np.allclose(R @ v, target)


def test_up_axis_conventions_and_errors():
    p = np.array([1.0, 2.0, 3.0])
    assert np.allclose(rotation_to_y_up("+z") @ p, [2, 3, 1]) and np.allclose(rotation_to_y_up("-y") @ p, [1, -2, -3])
    assert np.allclose(rotation_to_z_up("+y") @ p, [1, -3, 2]) and np.allclose(rotation_to_z_up("-y") @ p, [1, 3, -2])
    assert parse_up_axis(" Z ") == "+z" and parse_up_axis("-x") == "-x"
    for bad in ("up", "+w", "", 3, None):
        with pytest.raises(InputError, match="up axis"):
            parse_up_axis(bad)


def test_atomic_write_replaces_whole_files_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    from core.atomic import atomic_output, atomic_write, temporary_path, write_error
    from core.errors import SessionError

    target = tmp_path / "sub" / "out.txt"
    assert atomic_write(target, "one") == target and target.read_text() == "one"
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two" and not temporary_path(target).exists()
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:  # a failing writer keeps the old file
        tmp.write_text("half")
        raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"two" and not temporary_path(target).exists()

    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", full_disk)
    with pytest.raises(SessionError, match=r"could not write the journal '.*out.txt': No space left on device\."):
        atomic_write(target, "three", write_error(SessionError, "the journal"))
    assert target.read_bytes() == b"two" and not temporary_path(target).exists()
