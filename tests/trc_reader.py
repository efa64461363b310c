"""A plain, independent TRC parser for tests (does not share code with core/export/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_trc(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, str]]:
    """Return (marker names, time_s (F,), points (F, M, 3) in the file's unit, header dict)."""
    lines = Path(path).read_text().splitlines()
    keys = lines[1].split("\t")
    vals = lines[2].split("\t")
    header = dict(zip(keys, vals, strict=False))
    names = [n for n in lines[3].split("\t")[2:] if n.strip()]
    rows = []
    for line in lines[5:]:
        if not line.strip():
            continue
        fields = line.split("\t")
        rows.append([float(x) if x.strip() not in ("", "nan", "NaN") else np.nan for x in fields])
    width = 2 + 3 * len(names)
    data = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        data[i, : min(width, len(r))] = r[:width]
    return names, data[:, 1], data[:, 2:].reshape(len(rows), len(names), 3), header
