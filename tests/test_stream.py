"""Streaming (issue 13): a processed real session (the demo pair, cam01 + cam04) replayed to a real python-osc
VMC server and a JSON socket on 127.0.0.1, decoded and checked (addresses, bones, unit quaternions, forward
kinematics back to the streamed joints, timing, nothing lost); the rate limit and the drop rule of the sender
on a fake clock and a blocked receiver; bad targets through the CLI."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from cli import main
from core.errors import InputError
from core.export.retarget import forward_kinematics, retarget, rig_from_motion
from core.export.rotations import matrix_from_quat, quat_from_matrix
from core.skeleton import JOINT_NAMES
from core.stream import JSON_SCHEMA, VMC_BONES, Streamer, StreamFrame, StreamOutput
from core.stream.live import StreamConfig
from core.stream.receivers import JsonReceiver, VmcReceiver, replay_into
from core.stream.replay import load_take
from core.stream.target import UdpTarget, parse_target
from core.stream.vmc import ZUP_TO_YUP, VmcEncoder, to_unity


@pytest.fixture(scope="module")
def demo_session(tmp_path_factory) -> Path:
    """The shipped demo pair, imported and processed (real MediaPipe 2D, coarse 3D)."""
    from core.demo import demo_files
    from core.session.importing import import_videos
    from core.session.processing import process_session

    files = demo_files()
    out = tmp_path_factory.mktemp("stream") / "demo"
    import_videos(*files.videos, files.calibration, out, cameras=list(files.cameras))
    result = process_session(out, refine=False)
    assert result.frames_with_3d >= 95
    return out


def test_vmc_bundles_of_a_real_session_decode_to_the_streamed_joints(demo_session):
    rx = VmcReceiver()
    summary = replay_into(rx, demo_session, fps=30)
    take = load_take(demo_session)
    st = summary.stats
    # the take is 60 fps: at 30 fps every other frame goes out, none is dropped, every bundle arrives
    with_3d = int(np.isfinite(take.joints[:, 0]).all(-1).sum())
    assert st.dropped == 0 and st.send_errors == 0 and st.sent + st.rate_skipped == with_3d
    assert abs(st.sent - with_3d / 2) <= 2 and len(rx.bundles) == st.sent

    for b in rx.bundles:
        assert b.addresses == {"/VMC/Ext/Root/Pos", "/VMC/Ext/Bone/Pos", "/VMC/Ext/OK", "/VMC/Ext/T"}
        assert set(b.bones) == set(VMC_BONES) and b.ok == (1, 3, 0, 1)
    root, pos, quat = (np.stack(x) for x in zip(*(b.arrays() for b in rx.bundles), strict=True))
    np.testing.assert_allclose(np.linalg.norm(quat, axis=-1), 1.0, atol=1e-6)
    assert np.all(root[:, 1] == 0.0)  # the root is on the floor under the pelvis

    # which frames were sent: match by time, then FK of the received local rotations and positions
    idx = np.abs(take.time_s[None] - np.array([[b.t] for b in rx.bundles])).argmin(axis=1)  # /VMC/Ext/T is float32
    np.testing.assert_allclose(take.time_s[idx], [b.t for b in rx.bundles], atol=1e-5)
    truth = take.joints[idx] @ ZUP_TO_YUP.T  # Y-up, right-handed
    fk = to_unity(forward_kinematics(root + pos[:, 0], matrix_from_quat(quat), pos))[0]
    seen = np.isfinite(truth).all(-1)
    err = np.linalg.norm(fk - truth, axis=-1)[seen]
    assert err.max() < 0.01, err.max()  # float32 on the wire: well under 1 cm
    # with the rig's fixed rest offsets (what an avatar does), the error is the take's bone-length noise
    rest = to_unity(rig_from_motion(take.joints @ ZUP_TO_YUP.T))[0]
    fixed = to_unity(forward_kinematics(root + pos[:, 0], matrix_from_quat(quat), rest))[0]
    assert np.nanmedian(np.linalg.norm(fixed - truth, axis=-1)[seen]) < 0.03

    # timing: the bundles leave at the chosen 30 fps
    gaps = np.diff([b.received for b in rx.bundles])
    assert abs(np.median(gaps) - 1 / 30) < 0.004, np.median(gaps)
    assert abs(np.median(np.diff([b.t for b in rx.bundles])) - 1 / 30) < 1e-3


def test_json_lines_of_a_real_session_match_poses3d(demo_session):
    from core.session.session import Session
    from core.up_axis import rotation_to_z_up

    rx = JsonReceiver()
    summary = replay_into(rx, demo_session, fps=60)
    s = Session.open(demo_session)
    poses = s.poses()
    seen = np.isfinite(poses.coarse).all(-1).any(-1)
    assert summary.stats.sent == len(rx.docs) == int(seen.sum()) and summary.stats.dropped == 0
    R = rotation_to_z_up(s.world_up()[0])
    expect = poses.coarse[seen] @ R.T
    for doc, pts in zip(rx.docs, expect, strict=True):
        assert doc["schema"] == JSON_SCHEMA and doc["units"] == "m" and doc["up"] == "+z"
        assert doc["refined"] is False and list(doc["joints"]) == list(JOINT_NAMES)
        got = np.array([v if v is not None else [np.nan] * 3 for v in doc["joints"].values()], dtype=float)
        np.testing.assert_allclose(got, pts, atol=1e-5)
        assert all(0.0 <= c <= 1.0 for c in doc["confidence"].values())
    t = np.array([d["t"] for d in rx.docs])
    np.testing.assert_allclose(t, (poses.time_s - poses.time_s[0])[seen], atol=1e-5)
    # Z is up: the head is above the ankles
    heads = np.array([d["joints"]["head_top"][2] for d in rx.docs if d["joints"]["head_top"]])
    ankles = np.array([d["joints"]["left_ankle"][2] for d in rx.docs if d["joints"]["left_ankle"]])
    assert np.median(heads) - np.median(ankles) > 1.2


def test_retargeting_round_trips_through_unity_quaternions():
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(3)
    # a rigid body of known shape, turned by random rotations and moving sideways (Y up, metres)
    base = np.array(
        [[0, 0.95, 0], [-0.1, 0.93, 0], [-0.1, 0.5, 0.02], [-0.1, 0.08, 0], [0.1, 0.93, 0], [0.1, 0.5, 0.02],
         [0.1, 0.08, 0], [0, 1.2, 0], [0, 1.45, 0], [0, 1.6, 0.08], [0, 1.75, 0], [0.18, 1.45, 0],
         [0.45, 1.45, 0], [0.7, 1.45, 0], [-0.18, 1.45, 0], [-0.45, 1.45, 0], [-0.7, 1.45, 0]]
    )  # fmt: skip
    frames = []
    for k in range(40):
        R = Rotation.from_rotvec(rng.normal(0, 0.6, 3)).as_matrix()
        frames.append((base - base[0]) @ R.T + base[0] + [k * 0.01, 0, 0])
    p = np.stack(frames)
    rest = rig_from_motion(p)
    solved = retarget(p, rest)
    q = quat_from_matrix(solved.local_rot)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-12)
    # there and back through Unity's mirrored frame
    pos_u, q_u = to_unity(solved.offsets, q)
    fk = to_unity(forward_kinematics(to_unity(solved.root)[0], matrix_from_quat(q_u), pos_u))[0]
    np.testing.assert_allclose(fk, p, atol=1e-9)  # rigid motion of a fixed-length body: exact
    # identity rotations are the T-pose: the rig's rest pose
    tpose = forward_kinematics(np.zeros((1, 3)), np.broadcast_to(np.eye(3), (1, 17, 3, 3)), rest)[0]
    assert tpose[13, 0] > 0.5 and abs(tpose[13, 1] - tpose[11, 1]) < 1e-9  # left wrist out along +X


def _frame(k: int) -> StreamFrame:
    return StreamFrame(t_s=k / 60, joints=np.zeros((17, 3)), confidence=np.ones(17))


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class _BlockedTarget:
    """A receiver path that blocks until released (the sender cannot keep up)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.sent = 0
        self.errors = 0
        self.last_error = ""

    def send(self, data: bytes) -> bool:
        self.entered.set()
        self.release.wait(10)
        self.sent += 1
        return True

    def close(self) -> None:
        pass


class _Encoder:
    name = "test"

    def encode(self, frame: StreamFrame) -> bytes:
        return b"x"


def test_rate_limit_keeps_the_chosen_fps_on_a_jittered_clock():
    clock = _Clock()
    target = _BlockedTarget()
    target.release.set()
    streamer = Streamer([StreamOutput(_Encoder(), target)], fps=30, clock=clock)
    rng = np.random.default_rng(0)
    with streamer:
        for k in range(600):  # 10 s of 60 fps input with 2 ms of jitter
            clock.t = k / 60 + rng.normal(0, 0.002)
            streamer.push(_frame(k))
        assert streamer.wait_idle()
    st = streamer.stats()
    assert st.pushed == 600 and abs(st.pushed - st.rate_skipped - 300) <= 3
    streamer = Streamer([StreamOutput(_Encoder(), target)], fps=30, clock=clock)
    with streamer:  # 30 fps input at 30 fps: nothing skipped despite the jitter
        for k in range(300):
            clock.t = 100 + k / 30 + rng.normal(0, 0.002)
            streamer.push(_frame(k))
        assert streamer.wait_idle()
    assert streamer.stats().rate_skipped == 0


def test_a_sender_that_cannot_keep_up_drops_frames_and_never_blocks_the_pipeline():
    clock = _Clock()
    target = _BlockedTarget()
    streamer = Streamer([StreamOutput(_Encoder(), target)], fps=60, clock=clock)
    with streamer:
        clock.t = 0.0
        assert streamer.push(_frame(0))
        assert target.entered.wait(5)  # the sender is now stuck in its first send
        accepted = 1
        for k in range(1, 200):
            clock.t = k / 60
            accepted += streamer.push(_frame(k))
        # every push returned while the sender was still blocked: the pipeline's thread never waited
        assert not target.release.is_set() and target.sent == 0
        target.release.set()
        assert streamer.wait_idle()
    st = streamer.stats()
    assert accepted == 200 and st.dropped == 198 and st.sent == 2 == target.sent


def test_bad_targets_get_clear_messages(demo_session, capsys):
    cases = {
        "127.0.0.1:0": "port 0 means",
        "127.0.0.1:vmc": "must be a number from 1 to 65535",
        "127.0.0.1:70000": "from 1 to 65535",
        "no-such-host.invalid:39539": "cannot find the VMC host",
        ":39539": "has no host",
    }
    for target, words in cases.items():
        assert main(["stream", str(demo_session), "--vmc", target]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err, (target, err)
    assert main(["stream", str(demo_session)]) == 2
    assert "nothing to stream to" in capsys.readouterr().err
    assert main(["stream", str(demo_session), "--json-udp", "127.0.0.1:9", "--fps", "0"]) == 2
    assert "from 1 to 240 fps" in capsys.readouterr().err
    assert main(["stream", str(demo_session.parent / "missing"), "--vmc", "127.0.0.1:39539"]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(InputError, match="no port"):
        parse_target("localhost")
    assert parse_target("[::1]:9000") == ("::1", 9000)
    with pytest.raises(InputError, match="port"):
        StreamConfig(vmc_port=0).checked()


def test_a_receiver_that_is_not_there_is_not_an_error(demo_session, capsys):
    # nobody listens on these: UDP sends succeed (or are counted as not delivered), the replay ends normally
    assert main(["stream", str(demo_session), "--vmc", "127.0.0.1:9", "--json-udp", "10.255.255.1:9", "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["stats"]["sent"] > 40 and doc["stats"]["dropped"] == 0
    target = UdpTarget("127.0.0.1", 9)
    for _ in range(3):
        target.send(b"x")  # an ICMP 'port unreachable' may come back: counted, never raised
    assert target.errors <= 3
    target.close()


def test_live_rig_learns_its_bone_lengths_from_the_first_frames(demo_session):
    take = load_take(demo_session)
    enc = VmcEncoder()
    first = next(i for i in range(len(take.time_s)) if np.isfinite(take.joints[i]).all())
    assert enc.solve(StreamFrame(0.0, np.full((17, 3), np.nan), np.zeros(17))) is None  # no pelvis yet
    out = [enc.encode(take.frame(i)) for i in range(first, len(take.time_s))]
    assert all(isinstance(b, bytes) and b.startswith(b"#bundle\x00") for b in out if b is not None)
    assert enc.rest is not None and np.isfinite(enc.rest).all()
    legs = np.linalg.norm(enc.rest[[2, 3, 5, 6]], axis=-1)
    assert np.all((legs > 0.25) & (legs < 0.6)), legs
