"""Checkpoint round trip, content id, and clear errors for bad, corrupt or foreign checkpoints."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from core.errors import ModelError
from models.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from models.cvugcn import CVUGCN, CVUGCNConfig
from tests.test_models_helpers import mocap_joints


def _trained_like(seed: int = 0) -> CVUGCN:
    """A tiny network with non-trivial weights and BatchNorm statistics."""
    torch.manual_seed(seed)
    m = CVUGCN(CVUGCNConfig.tiny())
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    m.train()
    x = torch.as_tensor(mocap_joints("walk")[:32], dtype=torch.float32)
    x = (x - x[:, :1]).unsqueeze(1).repeat(1, 2, 1, 1)
    m(x)  # updates running statistics
    return m.eval()


def _x() -> torch.Tensor:
    x = torch.as_tensor(mocap_joints("run")[:16], dtype=torch.float32)
    return (x - x[:, :1]).unsqueeze(1).repeat(1, 2, 1, 1)


def test_round_trip_fp32_is_exact_and_id_is_stable(tmp_path: Path) -> None:
    m = _trained_like()
    meta = {"data": ["a", "b"], "epochs": 3, "losses": {"reproj": 1.5}, "seed": 7}
    cid = save_checkpoint(tmp_path / "m.pt", m, CVUGCNConfig.tiny(), meta)
    ck = load_checkpoint(tmp_path / "m.pt")
    assert ck.id == cid and len(cid) == 16
    assert ck.meta == meta and ck.model_config == CVUGCNConfig.tiny()
    with torch.no_grad():
        assert torch.equal(ck.build_model()(_x()), m(_x()))
    assert save_checkpoint(tmp_path / "again.pt", m, CVUGCNConfig.tiny(), {"other": 1}) == cid  # id = content
    assert save_checkpoint(tmp_path / "other.pt", _trained_like(1), CVUGCNConfig.tiny()) != cid


def test_fp16_storage_is_half_the_size_and_accurate(tmp_path: Path) -> None:
    m = _trained_like()
    save_checkpoint(tmp_path / "f32.pt", m, CVUGCNConfig.tiny())
    save_checkpoint(tmp_path / "f16.pt", m, CVUGCNConfig.tiny(), half=True)
    assert (tmp_path / "f16.pt").stat().st_size < 0.65 * (tmp_path / "f32.pt").stat().st_size
    ck = load_checkpoint(tmp_path / "f16.pt")
    assert ck.dtype == "float16" and all(v.dtype != torch.float16 for v in ck.state_dict.values())
    with torch.no_grad():
        a, b = ck.build_model()(_x()), m(_x())
    assert (a - b).abs().max() < 1e-3 * max(1.0, float(b.abs().max()))  # metres: well under a millimetre


def test_missing_corrupt_and_foreign_files_raise_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    save_checkpoint(tmp_path / "good.pt", _trained_like(), CVUGCNConfig.tiny())
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="damaged"):
        load_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "text.pt").write_text("not a model")
    with pytest.raises(ModelError, match="not a usable CrossView model"):
        load_checkpoint(tmp_path / "text.pt")
    torch.save(_trained_like().state_dict(), tmp_path / "bare.pt")
    with pytest.raises(ModelError, match="bare state_dict"):
        load_checkpoint(tmp_path / "bare.pt")


class _Evil:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_pickled_code_is_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"format": "crossview-cvugcn", "x": _Evil()}, f, protocol=2)
    with pytest.raises(ModelError):
        load_checkpoint(tmp_path / "evil.pt")
    assert not (tmp_path / "PWNED").exists()


def _rewrite(path: Path, out: Path, **changes) -> None:
    raw = torch.load(path, weights_only=True)
    raw.update(changes)
    torch.save(raw, out)


def test_other_version_other_skeleton_and_tampering(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    save_checkpoint(good, _trained_like(), CVUGCNConfig.tiny())
    _rewrite(good, tmp_path / "v.pt", format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelError, match="format version"):
        load_checkpoint(tmp_path / "v.pt")
    coco = {"joint_names": [f"kp{i}" for i in range(17)], "bones": [[0, 1]] * 16}
    _rewrite(good, tmp_path / "sk.pt", skeleton=coco)
    with pytest.raises(ModelError, match="another skeleton"):
        load_checkpoint(tmp_path / "sk.pt")
    raw = torch.load(good, weights_only=True)
    name = next(k for k, v in raw["state_dict"].items() if v.is_floating_point() and v.numel() > 10)
    raw["state_dict"][name] = raw["state_dict"][name] + 1.0
    torch.save(raw, tmp_path / "tampered.pt")
    with pytest.raises(ModelError, match="do not match its id"):
        load_checkpoint(tmp_path / "tampered.pt")
    raw = torch.load(good, weights_only=True)
    raw["model_config"]["joint_width"] = 96  # a network the weights do not fit
    from models.checkpoint import content_id

    raw["id"] = content_id(raw["model_config"], raw["state_dict"])
    torch.save(raw, tmp_path / "misfit.pt")
    with pytest.raises(ModelError, match="does not fit"):
        load_checkpoint(tmp_path / "misfit.pt")
