"""Training: a real overfit, training without any 3D truth, resume, stop/pause, DDP on gloo, CLI entry point."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from core.keypoints_io import save_keypoints_npz
from models import data as D  # noqa: N812
from models.checkpoint import load_checkpoint, save_checkpoint
from models.cvugcn import CVUGCN, CVUGCNConfig
from models.losses import LossConfig
from models.train import TrainConfig, Trainer, coarse_output, jitter_mm, output_metrics, train_from_paths
from tests.paths import SHARED_DATA, need
from tests.test_models_helpers import pose2sim_openpose_h36m, synthetic_samples


def _synthetic(n_rigs: int = 4, seed: int = 0):
    s = synthetic_samples(n_rigs=n_rigs, names=("walk", "run"), seed=seed)
    return D.from_synthetic(s)


def _cfg(**kw) -> TrainConfig:
    base = dict(epochs=3, batch_size=64, device="cpu", threads=1, checkpoint_every=1, loss=LossConfig.preset("paper"))
    base.update(kw)
    return TrainConfig(**base)


def test_overfit_a_few_hundred_frames_lowers_mpjpe(tmp_path: Path) -> None:
    data, truth = _synthetic()
    assert 150 < len(data) < 600
    coarse = output_metrics(coarse_output(data), data, truth)["mpjpe_mm"]
    reports = []
    tr = Trainer(
        data,
        data,
        tmp_path / "m.pt",
        _cfg(epochs=12, lr=2e-3, checkpoint_every=0),
        CVUGCNConfig.tiny(),
        val_truth=truth,
        on_epoch=reports.append,
    )
    res = tr.fit()
    best = min(r.val["mpjpe_mm"] for r in reports)
    assert best < 0.88 * coarse, (coarse, [round(r.val["mpjpe_mm"], 1) for r in reports])
    assert reports[-1].val["loss"] < reports[0].val["loss"]
    assert load_checkpoint(res.checkpoint).id == res.checkpoint_id


def test_a_rays_model_trains_on_its_node_features_and_beats_coarse(tmp_path: Path) -> None:
    data, truth = _synthetic()
    coarse = output_metrics(coarse_output(data), data, truth)["mpjpe_mm"]
    reports = []
    model_cfg = CVUGCNConfig.tiny().with_inputs("rays")
    assert model_cfg.in_dim == 14
    tr = Trainer(
        data,
        data,
        tmp_path / "r.pt",
        _cfg(epochs=8, lr=2e-3, checkpoint_every=0),
        model_cfg,
        val_truth=truth,
        on_epoch=reports.append,
    )
    res = tr.fit()
    assert min(r.val["mpjpe_mm"] for r in reports) < 0.92 * coarse
    ck = load_checkpoint(res.checkpoint)
    assert ck.model_config.inputs == "rays" and ck.model_config.in_dim == 14
    assert {"reproj_px", "bone_std_mm", "jitter_mm"} <= set(reports[-1].val)


def test_jitter_is_the_second_difference_within_sequences() -> None:
    world = np.zeros((7, 17, 3))
    world[:, :, 0] = (np.arange(7) ** 2 * 1e-3)[:, None]  # constant acceleration 2 mm / frame^2
    seq = np.array([0, 0, 0, 0, 1, 1, 1])
    frame = np.array([0, 1, 2, 3, 0, 1, 2])
    assert jitter_mm(world, seq, frame) == pytest.approx(2.0)
    shuffled = np.random.default_rng(0).permutation(7)
    assert jitter_mm(world[shuffled], seq[shuffled], frame[shuffled]) == pytest.approx(2.0)  # order-free
    assert np.isnan(jitter_mm(world[:4], seq[:4], np.array([0, 2, 4, 6])))  # no three consecutive frames


@pytest.fixture(scope="module")
def session_folder(tmp_path_factory) -> Path:
    kps, calib = pose2sim_openpose_h36m()
    folder = tmp_path_factory.mktemp("session")
    save_keypoints_npz(folder / "keypoints2d.npz", {k: kps[k] for k in ("cam_01", "cam_04")}, np.arange(100) / 60)
    shutil.copy(calib, folder / "calibration.toml")
    return folder


def test_training_runs_on_real_data_without_any_3d_truth(tmp_path: Path, session_folder: Path) -> None:
    data = D.data_from_paths([session_folder])  # a real recording: no 3D truth exists at all
    train, val, how = D.split(data)
    assert "time block" in how
    cfg = _cfg(epochs=2, window=4, loss=LossConfig.preset("structure-heavy"))
    reports = []
    res = Trainer(train, val, tmp_path / "m.pt", cfg, CVUGCNConfig.tiny(), on_epoch=reports.append).fit()
    assert res.stopped == "finished" and len(reports) == 2
    assert "mpjpe_mm" not in reports[-1].val
    assert {"reproj_px", "bone_std_mm", "temporal", "bone_length"} <= set(reports[-1].val) | set(reports[-1].train)
    assert reports[-1].train["temporal"] > 0
    assert load_checkpoint(res.checkpoint).meta["train_samples"] == len(train)
    with pytest.raises(TypeError, match="WeakData"):
        Trainer(synthetic_samples(1), None, tmp_path / "x.pt")  # a dict that holds joints3d is refused


def test_resume_continues_exactly(tmp_path: Path) -> None:
    data, _ = _synthetic(n_rigs=2)
    train, val = (
        data.subset(data.split_key[:, 1] == data.split_key[0, 1]),
        data.subset(data.split_key[:, 1] != data.split_key[0, 1]),
    )
    straight = Trainer(train, val, tmp_path / "a.pt", _cfg(epochs=4), CVUGCNConfig.tiny())
    ra = straight.fit()
    first = Trainer(train, val, tmp_path / "b.pt", _cfg(epochs=2), CVUGCNConfig.tiny())
    first.fit()
    second = Trainer(train, val, tmp_path / "b.pt", _cfg(epochs=4), CVUGCNConfig.tiny())
    rb = second.fit(resume_from=first.state_path)
    assert rb.epochs_run == 2 and len(rb.history) == 4
    sa = torch.load(straight.state_path, weights_only=True)
    sb = torch.load(second.state_path, weights_only=True)
    for k in sa["model"]:
        assert torch.equal(sa["model"][k], sb["model"][k]), k
    assert rb.checkpoint_id == ra.checkpoint_id


def test_pause_stop_and_keep_best(tmp_path: Path) -> None:
    data, _ = _synthetic(n_rigs=2)
    paused, progress = threading.Event(), []
    trainer: Trainer

    def on_progress(p) -> None:
        progress.append(p)
        assert 0.0 < p.fraction <= 1.0
        if p.epoch == 1 and p.batch == 1:
            trainer.pause()
            paused.set()
        if p.epoch == 2 and p.batch == 2:
            trainer.stop()

    trainer = Trainer(
        data, data, tmp_path / "m.pt", _cfg(epochs=50, batch_size=32), CVUGCNConfig.tiny(), on_progress=on_progress
    )
    result: dict = {}
    th = threading.Thread(target=lambda: result.setdefault("r", trainer.fit()))
    th.start()
    assert paused.wait(60)
    n = len(progress)
    assert trainer.paused
    assert not th.join(0.3) and th.is_alive() and len(progress) == n  # held between batches
    trainer.resume()
    th.join(120)
    r = result["r"]
    assert r.stopped == "stopped" and r.best_epoch >= 0 and len(r.history) == 3
    assert progress[-1].epoch == 2 and progress[-1].batch == 2
    ck = load_checkpoint(tmp_path / "m.pt")
    assert ck.id == r.checkpoint_id and trainer.state_path.is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    data, _ = _synthetic(n_rigs=2)
    tr = Trainer(data, data, Path(out) / "ddp.pt", _cfg(epochs=1, batch_size=64), CVUGCNConfig.tiny())
    res = tr.fit()
    torch.save({k: v for k, v in tr_model_state(tr).items()}, Path(out) / f"rank{rank}.pt")
    (Path(out) / f"rank{rank}.id").write_text(res.checkpoint_id)


def tr_model_state(tr: Trainer) -> dict:
    return torch.load(tr.state_path, weights_only=True)["model"] if tr.state_path.is_file() else {}


def test_ddp_two_cpu_processes_on_gloo(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    need(SHARED_DATA / "mocap")  # the workers build their data from it; skip here, not inside a worker
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ck = load_checkpoint(tmp_path / "ddp.pt")  # rank 0 saved the best checkpoint
    assert (tmp_path / "rank0.id").read_text() == ck.id
    assert (tmp_path / "rank1.id").read_text() == ""  # rank 1 saved nothing
    m = CVUGCN(ck.model_config)
    m.load_state_dict(torch.load(tmp_path / "rank0.pt", weights_only=True))
    assert any(float(p.detach().abs().sum()) > 0 for n, p in m.named_parameters() if n.startswith("head"))  # it trained


def test_train_from_paths_fine_tunes_a_checkpoint(tmp_path: Path, session_folder: Path) -> None:
    init = tmp_path / "init.pt"
    save_checkpoint(init, CVUGCN(CVUGCNConfig.tiny()), CVUGCNConfig.tiny())
    logs: list[str] = []
    summary = train_from_paths([session_folder], 2, "cpu", init, tmp_path / "tuned.pt", batch_size=64, log=logs.append)
    assert summary["epochs_run"] == 2 and Path(summary["out"]).is_file()
    ck = load_checkpoint(tmp_path / "tuned.pt")
    assert ck.meta["init_checkpoint_id"] == load_checkpoint(init).id
    assert ck.meta["data"] == [str(session_folder)]
    assert any("validation split" in s for s in logs)
    from core.errors import InputError

    with pytest.raises(InputError, match="epochs"):
        train_from_paths([session_folder], 0, "cpu", init, tmp_path / "x.pt", log=logs.append)
