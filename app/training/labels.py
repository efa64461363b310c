"""The words and colours of the Training tab: loss-term names, tooltips, preset notes, the ETA format. No widgets.

Colours are :data:`app.theme.PALETTE` names, never hex codes.
"""

from __future__ import annotations

import math

#: What each loss term is called in the tab (keys: :data:`models.losses.TERMS`, in this order everywhere).
TERM_LABELS: dict[str, str] = {
    "transform": "3D consistency",
    "reproj": "2D reprojection",
    "cross_reproj": "Cross-view 2D",
    "bone_dir": "Bone direction",
    "bone_length": "Bone length",
    "symmetry": "Symmetry",
    "temporal": "Smoothness",
}
#: What each term asks of the refined poses (tooltips).
TERM_HELP: dict[str, str] = {
    "transform": "The two views' 3D poses, carried into each other's camera frame, must agree (paper)",
    "reproj": "Each view's 3D pose must project onto that view's 2D keypoints (paper)",
    "cross_reproj": "Camera 1's pose carried into camera 2 must project onto camera 2's keypoints, and back (paper)",
    "bone_dir": "Each bone must point the same way in both views (paper; 0.1 was best there)",
    "bone_length": "Each bone keeps the recording's median length: a person's bones do not change length",
    "symmetry": "Left and right bones have the same length",
    "temporal": "Consecutive frames do not jump",
}
#: The palette colour of each loss term (plots, the swatches of the weights; ``training.qss`` has the same).
TERM_COLOURS: dict[str, str] = {
    "transform": "accent",
    "reproj": "term_reproj",
    "cross_reproj": "term_cross_reproj",
    "bone_dir": "term_bone_dir",
    "bone_length": "term_bone_length",
    "symmetry": "term_symmetry",
    "temporal": "term_temporal",
}
#: The palette colours of the other series of the plots.
TOTAL_COLOUR = "text"
BATCH_COLOUR = "batch_series"
VAL_COLOUR = "accent"
TRAIN_COLOUR = "text"
BASELINE_COLOUR = "muted"
START_COLOUR = "caution"
BEST_COLOUR = "ok_text"

DEFAULT_PRESET = "finetune"
PRESET_HELP: dict[str, str] = {
    "finetune": "for your recordings: paper terms + light structure terms",
    "paper": "the paper's three terms; bone direction at 0.1",
    "structure-heavy": "paper terms + strong bone length, symmetry, smoothness",
    "2d-only": "single- and cross-view reprojection only",
    "custom": "your own weights",
}
ROBUST_LABELS = {"l2": "squared (L2)", "huber": "Huber", "cauchy": "Cauchy"}


def preset_note(name: str) -> str:
    """The sentence under the preset choice."""
    return PRESET_HELP.get(name, "").capitalize() + "."


def format_eta(seconds: float | None) -> str:
    """``1:02:03``, ``4:05`` or ``12 s``; ``–`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
