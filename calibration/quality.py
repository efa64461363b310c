"""The quality verdict of a stereo calibration: "good", "usable" or "poor", with ONE advice line.

Checks (each graded good / usable / poor; the verdict is the worst grade):

==================  ================  =================  ==========================================
check               good              usable             why
==================  ================  =================  ==========================================
stereo RMS          < 0.5 px          < 1 px             reprojection error of the joint solve
camera RMS (each)   < 0.5 px          < 1 px             intrinsic fit of each camera
pairs               >= 12             >= 6               views seen by both cameras
coverage (each)     >= 50 %           >= 25 %            image grid cells the board reached
baseline/distance   >= 0.15           >= 0.07            depth precision at the working distance
==================  ================  =================  ==========================================

A stereo RMS of 1 px or more is always "poor", so it is never "good". The advice is the fix for the
first "poor" check in this priority order (stereo RMS, camera RMS, pairs, coverage, baseline), else for
the first "usable" one; it is empty when everything is good.
Intrinsics loaded from a file have no RMS to check and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from calibration.intrinsics import IntrinsicsResult
from calibration.stereo import StereoResult

LEVELS = ("good", "usable", "poor")


@dataclass(frozen=True)
class QualityCheck:
    """One graded figure. ``level`` in :data:`LEVELS`; ``advice`` is what to do if it is not good."""

    name: str
    value: float
    level: str
    message: str
    advice: str

    def to_json(self) -> dict:
        v = float(self.value)
        return {
            "name": self.name,
            "value": round(v, 4) if np.isfinite(v) else None,
            "level": self.level,
            "message": self.message,
        }


@dataclass(frozen=True)
class QualityReport:
    """The verdict, one advice line (empty when all is good) and every check."""

    verdict: str
    advice: str
    checks: tuple[QualityCheck, ...]

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "advice": self.advice, "checks": [c.to_json() for c in self.checks]}


def _grade(value: float, good: float, usable: float, higher_is_better: bool) -> str:
    if not np.isfinite(value):
        return "poor"
    if higher_is_better:
        return "good" if value >= good else "usable" if value >= usable else "poor"
    return "good" if value < good else "usable" if value < usable else "poor"


def assess(
    intrinsics: Sequence[IntrinsicsResult],
    stereo: StereoResult,
    coverage: Sequence[float] | None = None,
) -> QualityReport:
    """Grade a calibration. ``coverage``: per-camera fraction of the image the board reached (None = from
    the intrinsics results)."""
    checks: list[QualityCheck] = []
    rms = stereo.rms
    checks.append(
        QualityCheck(
            "stereo_rms_px",
            rms,
            _grade(rms, 0.5, 1.0, higher_is_better=False),
            f"stereo reprojection error {rms:.2f} px",
            f"Stereo error {rms:.2f} px is above 0.5 px: hold the board STILL in each position (the two webcams "
            "do not expose at the same instant), keep both cameras fixed, and use a flat rigid board; then recapture.",
        )
    )
    for ir in intrinsics:
        if ir.source != "calibrated" or not np.isfinite(ir.rms):
            continue
        checks.append(
            QualityCheck(
                f"{ir.camera.name}_rms_px",
                ir.rms,
                _grade(ir.rms, 0.5, 1.0, higher_is_better=False),
                f"{ir.camera.name} intrinsic error {ir.rms:.2f} px",
                f"{ir.camera.name}'s lens fit is poor: capture sharper views (good light, board held still) "
                "covering the corners of its image.",
            )
        )
    checks.append(
        QualityCheck(
            "pairs",
            float(stereo.n_pairs),
            _grade(stereo.n_pairs, 12, 6, higher_is_better=True),
            f"{stereo.n_pairs} stereo pairs",
            f"Only {stereo.n_pairs} pairs: capture more views where BOTH cameras see the whole board "
            "(aim for 15-25 at different places and angles).",
        )
    )
    covs = list(coverage) if coverage is not None else [ir.coverage for ir in intrinsics]
    for ir, cov in zip(intrinsics, covs):
        if cov is None or not np.isfinite(cov):
            continue
        checks.append(
            QualityCheck(
                f"{ir.camera.name}_coverage",
                cov,
                _grade(cov, 0.5, 0.25, higher_is_better=True),
                f"{ir.camera.name}: the board reached {cov:.0%} of the image",
                f"{ir.camera.name}: the board only reached {cov:.0%} of the image; move it near the edges and "
                "corners of the frame too (lens distortion is strongest there).",
            )
        )
    wd = stereo.working_distance_m
    ratio = stereo.baseline_m / wd if np.isfinite(wd) and wd > 0 else float("nan")
    if np.isfinite(ratio):
        checks.append(
            QualityCheck(
                "baseline_ratio",
                ratio,
                _grade(ratio, 0.15, 0.07, higher_is_better=True),
                f"baseline {stereo.baseline_m:.2f} m for a working distance of about {wd:.1f} m (ratio {ratio:.2f})",
                f"The cameras are only {stereo.baseline_m:.2f} m apart for subjects about {wd:.1f} m away: depth "
                f"will be imprecise. Move them at least {0.15 * wd:.1f} m apart (angled towards the subject) and "
                "recalibrate.",
            )
        )
    worst = max((LEVELS.index(c.level) for c in checks), default=0)
    verdict = LEVELS[worst]
    if rms >= 1.0:
        verdict = "poor"
    advice = ""
    for lvl in ("poor", "usable"):
        bad = next((c for c in checks if c.level == lvl), None)
        if bad is not None:
            advice = bad.advice
            break
    return QualityReport(verdict, advice, tuple(checks))
