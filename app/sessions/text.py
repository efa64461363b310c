"""How sessions read in the Sessions tab: the list's cells and colours, the details panel, durations and sizes.
Pure functions (no Qt), so that the view only puts text where it goes.

Units: seconds (durations), bytes (sizes).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from core.errors import CrossViewError
from core.pipeline import describe_refine_fallbacks
from core.session.listing import SessionRow
from core.session.processing import refine_fallbacks_of
from core.session.session import Session

COLUMNS: tuple[str, ...] = ("Name", "Date", "Duration", "Cameras", "Frames", "3D", "Refined", "Status", "Size")
#: The keys of the details panel, top to bottom.
DETAIL_KEYS: tuple[str, ...] = ("Status", "Origin", "Created", "Duration", "Cameras", "Pairs", "3D", "Refined", "Size")
YES = "✓"
NO = "–"
#: Columns whose text is a yes / no mark, and the status column.
MARK_COLUMNS = (5, 6)
STATUS_COLUMN = 7


def format_duration(seconds: float) -> str:
    if not seconds or seconds <= 0:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_size(n: int) -> str:
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def format_date(d: _dt.datetime | None) -> str:
    return d.strftime("%Y-%m-%d %H:%M") if d is not None else "–"


def row_cells(r: SessionRow) -> list[str]:
    """The texts of a session's line in the list, one per :data:`COLUMNS`."""
    frames = " / ".join(str(r.frames.get(c, 0)) for c in r.cameras) if r.cameras else "–"
    status = {"unfinished": "unfinished — recover", "recording": "recording now"}.get(r.status, r.status)
    if r.error and r.status in ("complete", "recovered"):
        status += " (stopped early)"
    return [
        r.name,
        format_date(r.created),
        format_duration(r.duration_s),
        " + ".join(r.cameras) if r.cameras else "–",
        frames,
        (YES + (" live" if r.results_source == "live" else "")) if r.has_3d else NO,
        YES if r.has_refined else NO,
        status,
        format_size(r.size_bytes),
    ]


def cell_colour(r: SessionRow, column: int, text: str) -> str | None:
    """The palette name of a cell's text colour, or None for the default."""
    if column in MARK_COLUMNS:
        return "ok_text" if text.startswith(YES) else "muted"
    if column == STATUS_COLUMN and r.status not in ("complete", "recovered"):
        return "caution" if r.status != "unreadable" else "error_text"
    return None


def empty_text(root: Path) -> str:
    return (
        f"No sessions in {root} yet.\n\nRecord one in the Live tab (● Record while the capture runs), "
        "or Import… two videos and their calibration."
    )


def details(r: SessionRow) -> dict[str, str]:
    """The details panel's values by :data:`DETAIL_KEYS`."""
    return {
        "Status": r.status,
        "Origin": r.origin or "–",
        "Created": format_date(r.created),
        "Duration": f"{format_duration(r.duration_s)}  ({r.fps:.0f} fps)" if r.fps else "–",
        "Cameras": ", ".join(f"{c}: {r.frames.get(c, 0)} frames" for c in r.cameras) if r.cameras else "–",
        "Pairs": str(r.pairs),
        "3D": ("yes, recorded live" if r.results_source == "live" else "yes") if r.has_3d else "not yet — Process it",
        "Refined": "yes" if r.has_refined else "no",
        "Size": format_size(r.size_bytes),
    }


def details_note(r: SessionRow) -> str:
    """The last processing run and the session's last notes, one per line."""
    notes = []
    p = r.processing or {}
    if p:
        med = p.get("median_reprojection_error_px")
        med_text = f", median reprojection error {med:.1f} px" if isinstance(med, int | float) else ""
        notes.append(
            f"Processed {str(p.get('when', ''))[:16].replace('T', ' ')}: {p.get('percent_with_3d', 0):.0f}% of "
            f"pairs with 3D{med_text}; refinement {p.get('refinement', '?')}"
            + (f"; {guard}." if (guard := describe_refine_fallbacks(refine_fallbacks_of(p))) else ".")
        )
    notes += r.notes[-3:]
    return "\n".join(notes)


def replay_info(r: SessionRow) -> str:
    """The line beside the replay's title."""
    return f"{' + '.join(r.cameras)} · {r.pairs} pairs · {r.fps:.0f} fps · {format_duration(r.duration_s)}"


def describe_unfinished(p: Path) -> str:
    """A line of the recovery offer: the folder, when it started and how much it held when last saved."""
    try:
        m = Session.open(p).meta
        when = format_date(_dt.datetime.fromisoformat(m.created)) if m.created else "?"
        frames = " + ".join(f"{c.frames} {c.name}" for c in m.cameras)
        return f"{p.name}    ·  started {when}  ·  about {frames} frames when last saved"
    except (CrossViewError, ValueError):
        return p.name
