"""CV-UGCN inference speed: ``python -m bench.model_speed [--no-compile] [--device cpu|cuda]`` prints one JSON object.

For each variant (``full`` = the doc's widths, ``narrow`` = half widths) it reports the parameter count,
the multiply-adds per two-view frame and the milliseconds per frame (median over repeated calls, eval
mode, ``torch.inference_mode``; best of three rounds) at batch 1 and batch 256 for each execution path:

- ``eager``: the plain module;
- ``fused``: BatchNorm folded into the weights (``models.cvugcn.fuse_batchnorm``);
- ``script``: ``torch.jit.script`` of the fused model (then ``torch.jit.freeze``);
- ``trace``: ``torch.jit.trace`` of the fused model (then frozen);
- ``compile``: ``torch.compile`` of the fused model (``compile_s`` is its first-call compile time).

On CPU, batch 1 is also timed with one thread (``b1_1thread``). Budget: 10 ms per frame on a laptop CPU
at batch 1, 2 ms on a CUDA GPU. Units: milliseconds per frame, seconds for compile times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from models.cvugcn import CVUGCN, CVUGCNConfig, count_parameters, fuse_batchnorm


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_per_frame(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, device: str, reps: int, rounds: int = 3
) -> float:
    """Milliseconds per frame of ``fn(x)``: the lowest of ``rounds`` medians over ``reps`` calls each.

    A warm-up of at least 10 calls and 0.3 s comes first. Taking the best round's median keeps the figure
    stable when other processes share the CPU.
    """
    with torch.inference_mode():
        t_end = time.perf_counter() + 0.3
        n = 0
        while n < 10 or time.perf_counter() < t_end:
            fn(x)
            n += 1
        _sync(device)
        medians = []
        for _ in range(rounds):
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                fn(x)
                _sync(device)
                times.append(time.perf_counter() - t0)
            medians.append(statistics.median(times))
    return 1e3 * min(medians) / x.shape[0]


def macs_per_frame(model: torch.nn.Module) -> int:
    """Multiply-adds of one two-view frame (dense matrix products, as counted by torch's FlopCounterMode)."""
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.zeros(1, 2, 17, model.in_dim))
    return int(counter.get_total_flops() // 2)


def bench_variant(cfg: CVUGCNConfig, device: str, compile_: bool, threads: int) -> dict:
    torch.manual_seed(0)
    model = CVUGCN(cfg)
    # non-trivial BatchNorm statistics and output layer, as in a trained model
    model.train()
    with torch.no_grad():
        model.head.weight.normal_(0.0, 0.01)
        for _ in range(3):
            model(0.3 * torch.randn(256, 2, 17, cfg.in_dim))
    model.eval()
    res: dict = {"params": count_parameters(model), "macs_per_frame": macs_per_frame(model), "config": cfg.to_dict()}
    model = model.to(device)
    fused = fuse_batchnorm(model)
    x1 = 0.3 * torch.randn(1, 2, 17, cfg.in_dim, device=device)
    x256 = 0.3 * torch.randn(256, 2, 17, cfg.in_dim, device=device)
    paths: dict[str, Callable] = {"eager": model, "fused": fused}
    with torch.inference_mode():
        paths["script"] = torch.jit.freeze(torch.jit.script(fused))
        paths["trace"] = torch.jit.freeze(torch.jit.trace(fused, x1))
        ref = fused(x256)
        res["max_abs_diff_fused_vs_eager_m"] = float((model(x256) - ref).abs().max())
    if compile_:
        compiled = torch.compile(fused, dynamic=False)
        t0 = time.perf_counter()
        with torch.inference_mode():
            compiled(x1)
            compiled(x256)
        res["compile_s"] = round(time.perf_counter() - t0, 1)
        paths["compile"] = compiled
    ms: dict[str, dict[str, float]] = {}
    for name, fn in paths.items():
        entry = {
            "b1": round(time_per_frame(fn, x1, device, 200), 4),
            "b256": round(time_per_frame(fn, x256, device, 15), 5),
        }
        if device == "cpu" and threads > 1:
            torch.set_num_threads(1)
            entry["b1_1thread"] = round(time_per_frame(fn, x1, device, 200), 4)
            torch.set_num_threads(threads)
        ms[name] = entry
    res["ms_per_frame"] = ms
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (slow to build on CPU)")
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    out: dict = {
        "bench": "model_speed",
        "units": {"time": "ms per two-view frame", "compile_s": "s"},
        "device": args.device if args.device != "cpu" else f"cpu ({platform.processor() or platform.machine()})",
        "torch": torch.__version__,
        "threads": args.threads,
        "budget_ms_b1": 10.0 if args.device == "cpu" else 2.0,
        "variants": {},
    }
    for name, cfg in (
        ("full", CVUGCNConfig.full()),
        ("narrow", CVUGCNConfig.narrow()),
        ("narrow_rays", CVUGCNConfig.narrow().with_inputs("rays")),
    ):
        out["variants"][name] = bench_variant(cfg, args.device, not args.no_compile, args.threads)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
