"""Calibration footage: frames from a video file or a folder of images, and pairing two inputs.

- :func:`open_source` opens a video file or an image folder as a :class:`FrameSource`.
- :func:`pair_sources` matches frames of two sources: folders by the number in the file names
  (``left07.jpg`` <-> ``right07.jpg``), else by sorted order; videos by capture time, from a timestamps
  CSV when given (Caliscope's ``sync_index, cam_id, frame_time`` seconds, optional ``frame_index``) or
  else from each video's frame rate.

Times are seconds; images are BGR ``uint8`` ``(H, W, 3)``.
"""

from __future__ import annotations

import csv
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.errors import InputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


class FrameSource(ABC):
    """Frames of one camera. ``image_size`` ``(w, h)`` px; ``fps`` None for image folders."""

    kind: str
    path: Path
    image_size: tuple[int, int]
    n_frames: int
    fps: float | None

    @abstractmethod
    def iter_frames(self, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, image)`` for the given frame indices, in increasing order (missing frames skipped)."""

    def times_s(self) -> np.ndarray:
        """``(n_frames,)`` nominal frame times in seconds (index / fps; index for image folders)."""
        return np.arange(self.n_frames) / (self.fps or 1.0)

    def label(self, index: int) -> str:
        return f"{self.path.name}#{index}"


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


class ImageFolderSource(FrameSource):
    """A folder of still images (one camera), sorted by name with numbers in numeric order.

    ``pattern``: a glob for the file names (e.g. ``left*.jpg``) when both cameras share one folder.
    """

    kind = "images"

    def __init__(self, path: str | os.PathLike, pattern: str | None = None) -> None:
        self.path = Path(path)
        files = self.path.glob(pattern) if pattern else self.path.iterdir()
        self.files = sorted(
            (p for p in files if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS),
            key=lambda p: _natural_key(p.name),
        )
        if not self.files:
            what = f"no images matching '{pattern}'" if pattern else f"no images ({', '.join(IMAGE_EXTENSIONS)})"
            raise InputError(
                f"the folder '{self.path}' holds {what}. "
                "Point to the folder with this camera's calibration photos, or to a video file."
            )
        first = self._read(0)
        self.image_size = (int(first.shape[1]), int(first.shape[0]))
        self.n_frames = len(self.files)
        self.fps = None

    def _read(self, index: int) -> np.ndarray:
        path = self.files[index]
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise InputError(f"could not read the image '{path}'. Is it a valid image file?")
        return img

    def iter_frames(self, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
        for i in sorted(set(int(i) for i in indices)):
            if 0 <= i < self.n_frames:
                img = self._read(i)
                if (img.shape[1], img.shape[0]) != self.image_size:
                    raise InputError(
                        f"'{self.files[i]}' is {img.shape[1]}x{img.shape[0]} but the other images of "
                        f"'{self.path}' are {self.image_size[0]}x{self.image_size[1]}. One camera's photos must "
                        "all have the same resolution: remove the odd one out."
                    )
                yield i, img

    def label(self, index: int) -> str:
        return self.files[index].name

    def numbers(self) -> list[int] | None:
        """The last number in each file name, or None if some name has none or numbers repeat."""
        nums = []
        for p in self.files:
            found = re.findall(r"\d+", p.stem)
            if not found:
                return None
            nums.append(int(found[-1]))
        return nums if len(set(nums)) == len(nums) else None


class VideoSource(FrameSource):
    """A video file (one camera), read sequentially."""

    kind = "video"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise InputError(
                    f"could not open the video '{self.path}'. Is it a video file OpenCV can read (mp4/avi/mkv)?"
                )
            ok, frame = cap.read()
            if not ok or frame is None:
                raise InputError(f"the video '{self.path}' has no readable frame. Is the file complete?")
            self.image_size = (int(frame.shape[1]), int(frame.shape[0]))
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        finally:
            cap.release()
        self.n_frames = max(n, 1)
        self.fps = fps if np.isfinite(fps) and 0.1 < fps < 1000 else 30.0

    def iter_frames(self, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
        wanted = sorted(set(int(i) for i in indices if int(i) >= 0))
        if not wanted:
            return
        cap = cv2.VideoCapture(str(self.path))
        try:
            pos = 0
            for i in wanted:
                while pos < i:
                    if not cap.grab():
                        return
                    pos += 1
                ok, frame = cap.read()
                if not ok or frame is None:
                    return
                pos += 1
                yield i, frame
        finally:
            cap.release()


def open_source(path: str | os.PathLike, role: str = "camera") -> FrameSource:
    """A video file, an image folder or a glob of images (``folder/left*.jpg``) as a :class:`FrameSource`.

    ``role`` names the input in error messages.
    """
    p = Path(path)
    if any(ch in p.name for ch in "*?[") and p.parent.is_dir():
        return ImageFolderSource(p.parent, p.name)
    if not p.exists():
        raise InputError(f"{role}: '{p}' does not exist. Give a video file or a folder of images.")
    if p.is_dir():
        return ImageFolderSource(p)
    if p.suffix.lower() in IMAGE_EXTENSIONS:
        raise InputError(
            f"{role}: '{p}' is a single image; give the folder that holds all of this camera's calibration photos."
        )
    return VideoSource(p)


@dataclass(frozen=True)
class PairPlan:
    """Matched frames of two sources: ``idx0``/``idx1`` ``(P,)`` frame indices, ``skew_s`` ``(P,)`` seconds."""

    idx0: np.ndarray
    idx1: np.ndarray
    skew_s: np.ndarray
    method: str

    def __len__(self) -> int:
        return len(self.idx0)

    def subsample(self, max_pairs: int) -> PairPlan:
        """Every k-th pair so that at most ``max_pairs`` remain."""
        if len(self) <= max_pairs:
            return self
        step = int(np.ceil(len(self) / max_pairs))
        sl = slice(0, None, step)
        return PairPlan(self.idx0[sl], self.idx1[sl], self.skew_s[sl], f"{self.method}, every {step}th pair")

    def shifted(self, offset: int, n_frames1: int) -> PairPlan:
        """The pairs with camera 2's frame index moved by ``offset`` frames, keeping those inside ``[0, n_frames1)``."""
        if not offset:
            return self
        idx1 = self.idx1 + int(offset)
        ok = (idx1 >= 0) & (idx1 < n_frames1)
        return PairPlan(self.idx0[ok], idx1[ok], self.skew_s[ok], self.method)


def _nearest_pairs(t_a: np.ndarray, t_b: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mutual nearest neighbours of two sorted time arrays within ``tol`` (same units)."""
    if not len(t_a) or not len(t_b):
        e = np.zeros(0, dtype=int)
        return e, e, np.zeros(0)
    j = np.clip(np.searchsorted(t_b, t_a), 1, len(t_b) - 1) if len(t_b) > 1 else np.zeros(len(t_a), dtype=int)
    if len(t_b) > 1:
        j = np.where(np.abs(t_b[j - 1] - t_a) <= np.abs(t_b[j] - t_a), j - 1, j)
    i = np.clip(np.searchsorted(t_a, t_b), 1, len(t_a) - 1) if len(t_a) > 1 else np.zeros(len(t_b), dtype=int)
    if len(t_a) > 1:
        i = np.where(np.abs(t_a[i - 1] - t_b) <= np.abs(t_a[i] - t_b), i - 1, i)
    a = np.arange(len(t_a))
    mutual = i[j] == a
    close = np.abs(t_b[j] - t_a) <= tol
    keep = mutual & close
    return a[keep], j[keep], (t_b[j] - t_a)[keep]


def _pair_times(t0_s: np.ndarray, t1_s: np.ndarray, tol_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair two timelines (seconds) through core.sync.pair_timestamps when available."""
    o0, o1 = np.argsort(t0_s, kind="stable"), np.argsort(t1_s, kind="stable")
    a_ns = np.round(t0_s[o0] * 1e9).astype(np.int64)
    b_ns = np.round(t1_s[o1] * 1e9).astype(np.int64)
    try:
        from core.sync import pair_timestamps  # written by the synchroniser's author
    except ImportError:
        pair_timestamps = None
    if pair_timestamps is not None:
        ia, ib, skew = pair_timestamps(a_ns, b_ns, int(round(tol_s * 1e9)))
        ia, ib = np.asarray(ia, dtype=int), np.asarray(ib, dtype=int)
        skew_s = np.asarray(skew, dtype=np.float64) * 1e-9
    else:
        ia, ib, skew_s = _nearest_pairs(a_ns / 1e9, b_ns / 1e9, tol_s)
    return o0[ia], o1[ib], skew_s


def read_timestamps_csv(path: str | os.PathLike) -> dict[int, np.ndarray]:
    """Per ``cam_id``, frame times in seconds ordered by frame index.

    Columns: ``cam_id`` and ``frame_time`` (seconds) are required; ``frame_index`` orders the frames when
    present, else ``sync_index`` / file order does. Returns ``{cam_id: (n_frames,) seconds}``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"timestamps file '{path}' does not exist.")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"could not read the timestamps file '{path}': {exc}.") from None
    if not rows:
        raise InputError(f"the timestamps file '{path}' is empty.")
    cols = {c.strip(): c for c in rows[0] if c is not None}
    for need in ("cam_id", "frame_time"):
        if need not in cols:
            raise InputError(
                f"the timestamps file '{path}' has no '{need}' column (columns: {', '.join(cols)}). "
                "Expected Caliscope's layout: sync_index, cam_id, frame_time (seconds)."
            )
    per_cam: dict[int, list[tuple[float, float, int]]] = {}
    try:
        for k, r in enumerate(rows):
            cam = int(float(r[cols["cam_id"]]))
            t = float(r[cols["frame_time"]])
            order = (
                float(r[cols["frame_index"]])
                if "frame_index" in cols
                else (float(r[cols["sync_index"]]) if "sync_index" in cols else float(k))
            )
            per_cam.setdefault(cam, []).append((order, t, k))
    except (TypeError, ValueError) as exc:
        raise InputError(f"the timestamps file '{path}' has a non-numeric value ({exc}).") from None
    return {cam: np.array([t for _, t, _ in sorted(v)]) for cam, v in sorted(per_cam.items())}


def _cam_id_for(path: Path, ids: list[int], fallback: int) -> int:
    nums = [int(n) for n in re.findall(r"\d+", path.stem)]
    if nums and nums[-1] in ids:
        return nums[-1]
    return ids[fallback]


def pair_sources(src0: FrameSource, src1: FrameSource, timestamps: str | os.PathLike | None = None) -> PairPlan:
    """Match the frames of two sources taken at the same instant (see the module doc)."""
    if src0.kind != src1.kind:
        raise InputError(
            f"one input is a {src0.kind} source ('{src0.path}') and the other a {src1.kind} source ('{src1.path}'); "
            "give two videos or two image folders."
        )
    if src0.kind == "images":
        assert isinstance(src0, ImageFolderSource) and isinstance(src1, ImageFolderSource)
        n0, n1 = src0.numbers(), src1.numbers()
        if n0 is not None and n1 is not None:
            common, i0, i1 = np.intersect1d(np.array(n0), np.array(n1), return_indices=True)
            if len(common):
                return PairPlan(i0, i1, np.zeros(len(common)), "image folders paired by the number in the file names")
        if src0.n_frames != src1.n_frames:
            raise InputError(
                f"cannot pair the photos: '{src0.path}' has {src0.n_frames} images and '{src1.path}' has "
                f"{src1.n_frames}, and their names carry no matching numbers. Name them like left01.jpg / right01.jpg."
            )
        idx = np.arange(src0.n_frames)
        return PairPlan(idx, idx.copy(), np.zeros(len(idx)), "image folders paired by sorted order")
    if timestamps is not None:
        table = read_timestamps_csv(timestamps)
        ids = sorted(table)
        if len(ids) < 2:
            raise InputError(f"the timestamps file '{timestamps}' lists only camera(s) {ids}; two are needed.")
        c0 = _cam_id_for(src0.path, ids, 0)
        c1 = _cam_id_for(src1.path, [i for i in ids if i != c0], 1 if ids[0] == c0 else 0)
        t0, t1 = table[c0][: src0.n_frames], table[c1][: src1.n_frames]
        period = float(np.median(np.diff(np.sort(np.concatenate([t0, t1]))))) if len(t0) > 1 else 0.0
        period = max(float(np.median(np.diff(t0))) if len(t0) > 1 else 0.0, period)
        idx0, idx1, skew = _pair_times(t0, t1, 0.5 * period if period > 0 else 0.02)
        method = f"videos paired by capture time from '{Path(timestamps).name}' (cam_id {c0} / {c1})"
    else:
        t0, t1 = src0.times_s(), src1.times_s()
        tol = 0.5 / max(src0.fps or 30.0, src1.fps or 30.0)
        idx0, idx1, skew = _pair_times(t0, t1, tol)
        method = f"videos paired by frame time at {src0.fps:g} / {src1.fps:g} fps"
    if not len(idx0):
        raise InputError(
            f"no frames of '{src0.path}' and '{src1.path}' were taken at the same time. "
            "Check the timestamps file, or record both cameras at once."
        )
    return PairPlan(np.asarray(idx0), np.asarray(idx1), np.asarray(skew, np.float64), method)


def iter_pairs(
    src0: FrameSource, src1: FrameSource, plan: PairPlan
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """``(i0, i1, image0, image1)`` for each planned pair, reading both sources sequentially."""
    order = np.argsort(plan.idx0, kind="stable")
    i0s, i1s = plan.idx0[order], plan.idx1[order]
    want1 = dict(zip(i0s.tolist(), i1s.tolist()))
    # idx1 increases with idx0 for time-paired sources; cache the few that do not.
    frames1: dict[int, np.ndarray] = {}
    it1 = src1.iter_frames(sorted(set(i1s.tolist())))
    for i0, img0 in src0.iter_frames(i0s.tolist()):
        i1 = want1[i0]
        while i1 not in frames1:
            nxt = next(it1, None)
            if nxt is None:
                break
            frames1[nxt[0]] = nxt[1]
        img1 = frames1.pop(i1, None)
        if img1 is not None:
            yield i0, i1, img0, img1
