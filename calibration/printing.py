"""Print sheets: a board rendered at TRUE physical size on a page, as PNG or PDF.

The page is rendered as one grey image at ``dpi`` (square and marker edges are placed at the nearest
pixel of their exact physical position, so lengths are exact to half a pixel: 0.04 mm at 300 dpi).
The PNG records its resolution (pHYs chunk); the PDF is written by hand (no dependency): one page of
the paper's size with the image drawn over the whole page, so printing at 100 % ("actual size", not
"fit to page") gives the true size. The margin holds the board description and a 50 mm scale bar to
check the print with a ruler.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from calibration.boards import ARUCO_DICTIONARIES, Board
from core.atomic import atomic_write, write_error
from core.errors import InputError

#: Paper sizes (width, height) in millimetres, portrait.
PAPER_MM: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
    "Letter": (215.9, 279.4),
    "Legal": (215.9, 355.6),
    "Tabloid": (279.4, 431.8),
}
_MARGIN_MM = 10.0
_FOOTER_MM = 22.0  # text and scale bar
_GAP_MM = 6.0  # white space between the board and the footer
_SCALE_BAR_MM = 50.0


@dataclass(frozen=True)
class PrintSheet:
    """A rendered page: ``image`` ``(H, W)`` uint8 grey at ``dpi``; ``paper_mm`` (w, h) as laid out;
    ``board_px`` the board's (x, y, w, h) on the page in pixels."""

    image: np.ndarray
    dpi: float
    paper: str
    paper_mm: tuple[float, float]
    board_px: tuple[int, int, int, int]

    @property
    def px_per_mm(self) -> float:
        return self.dpi / 25.4


def _edges(n: int, step_px: float) -> np.ndarray:
    """Pixel boundaries of ``n`` cells of ``step_px`` each, rounded from their exact positions."""
    return np.rint(np.arange(n + 1) * step_px).astype(int)


def render_board(board: Board, px_per_m: float) -> np.ndarray:
    """The board's squares area ``(H, W)`` uint8 (0 black, 255 white) at ``px_per_m`` pixels per metre.

    Chessboard: the top-left square is black. ChArUco: OpenCV's layout (markers in the white squares).
    Inverted boards come out inverted (white on black).
    """
    sq = board.square * px_per_m
    if sq < 8:
        raise InputError(
            f"at this resolution a {board.square * 1000:.3g} mm square is only {sq:.1f} px; use a higher dpi."
        )
    sx, sy = board.squares
    ex, ey = _edges(sx, sq), _edges(sy, sq)
    img = np.full((ey[-1], ex[-1]), 255, np.uint8)
    if board.kind == "chessboard":
        for r in range(sy):
            for c in range(sx):
                if (r + c) % 2 == 0:
                    img[ey[r] : ey[r + 1], ex[c] : ex[c + 1]] = 0
    else:
        cvb = board.cv_board()
        obj = np.asarray(cvb.getObjPoints(), dtype=np.float64)  # (M, 4, 3) metres, y down
        ids = np.asarray(cvb.getIds()).ravel()
        centres = obj[:, :, :2].mean(axis=1)
        with_marker = {(int(cy // board.square), int(cx // board.square)) for cx, cy in centres}
        for r in range(sy):
            for c in range(sx):
                if (r, c) not in with_marker:
                    img[ey[r] : ey[r + 1], ex[c] : ex[c + 1]] = 0
        dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICTIONARIES[board.dictionary])
        for k, mid in enumerate(ids):
            x0, y0 = obj[k, :, 0].min(), obj[k, :, 1].min()
            x1, y1 = obj[k, :, 0].max(), obj[k, :, 1].max()
            px0, py0 = int(np.rint(x0 * px_per_m)), int(np.rint(y0 * px_per_m))
            px1, py1 = int(np.rint(x1 * px_per_m)), int(np.rint(y1 * px_per_m))
            side = min(px1 - px0, py1 - py0)
            marker = cv2.aruco.generateImageMarker(dictionary, int(mid), side, borderBits=1)
            img[py0 : py0 + side, px0 : px0 + side] = marker
    if board.inverted:
        img = 255 - img
    return img


def _fits(board_mm: tuple[float, float], paper_mm: tuple[float, float]) -> bool:
    bw, bh = board_mm
    pw, ph = paper_mm
    return bw + 2 * _MARGIN_MM <= pw and bh + 2 * _MARGIN_MM + _GAP_MM + _FOOTER_MM <= ph


def render_print_sheet(board: Board, paper: str = "A4", dpi: float = 300.0) -> PrintSheet:
    """The board centred on a page of ``paper`` (a key of :data:`PAPER_MM`) at ``dpi``, with the board
    description and a 50 mm scale bar in the bottom margin. Portrait, or landscape when only that fits."""
    key = next((k for k in PAPER_MM if k.lower() == str(paper).lower()), None)
    if key is None:
        raise InputError(f"unknown paper {paper!r}; use one of {', '.join(PAPER_MM)}.")
    if not (72 <= dpi <= 1200):
        raise InputError(f"dpi must be between 72 and 1200, got {dpi:g}.")
    board_mm = (board.size_m[0] * 1000, board.size_m[1] * 1000)
    quiet = board.square * 1000 * 0.5 if board.inverted else 0.0  # dark surround of inverted prints
    framed = (board_mm[0] + 2 * quiet, board_mm[1] + 2 * quiet)
    pw, ph = PAPER_MM[key]
    if _fits(framed, (pw, ph)):
        paper_mm = (pw, ph)
    elif _fits(framed, (ph, pw)):
        paper_mm = (ph, pw)
    else:
        sx, sy = board.squares
        if board.inverted:  # the dark surround takes half a square on each side
            sx, sy = sx + 1, sy + 1
        room_w = max(pw, ph) - 2 * _MARGIN_MM
        room_h = min(pw, ph) - 2 * _MARGIN_MM - _GAP_MM - _FOOTER_MM
        best = max(min(room_w / sx, room_h / sy), min(room_h / sx, room_w / sy))
        raise InputError(
            f"the board ({framed[0]:.0f} x {framed[1]:.0f} mm) does not fit on {key} paper with margins. Use "
            f"squares of at most {best:.1f} mm ({best / 1000:.4f} m), fewer squares, or larger paper."
        )
    ppmm = dpi / 25.4
    W, H = int(round(paper_mm[0] * ppmm)), int(round(paper_mm[1] * ppmm))
    page = np.full((H, W), 255, np.uint8)
    pattern = render_board(board, ppmm * 1000)
    q = int(round(quiet * ppmm))
    if q:
        pattern = cv2.copyMakeBorder(pattern, q, q, q, q, cv2.BORDER_CONSTANT, value=0)
    top = int(round(_MARGIN_MM * ppmm))
    usable_h = H - top - int(round((_FOOTER_MM + _GAP_MM + _MARGIN_MM) * ppmm))
    x0 = (W - pattern.shape[1]) // 2
    y0 = top + max(0, (usable_h - pattern.shape[0]) // 2)
    page[y0 : y0 + pattern.shape[0], x0 : x0 + pattern.shape[1]] = pattern
    _draw_footer(page, board, key, dpi, ppmm, int(round((paper_mm[1] - _MARGIN_MM - _FOOTER_MM) * ppmm)))
    return PrintSheet(
        page, float(dpi), key, paper_mm, (x0 + q, y0 + q, pattern.shape[1] - 2 * q, pattern.shape[0] - 2 * q)
    )


def _draw_footer(page: np.ndarray, board: Board, paper: str, dpi: float, ppmm: float, top: int) -> None:
    left = int(round(_MARGIN_MM * ppmm))
    font = cv2.FONT_HERSHEY_SIMPLEX
    thick = max(1, int(round(ppmm * 0.2)))
    lines = [
        board.describe(),
        f"{board.spec()}  -  {paper}, {dpi:g} dpi. Print at 100% (actual size), NOT 'fit to page'.",
        f"The bar below must measure {_SCALE_BAR_MM:g} mm; if not, measure a square and enter its real size.",
    ]
    # ~2 mm capitals (Hershey capitals are ~22 px at scale 1), shrunk if a line would not fit the page.
    scale = 2.0 * ppmm / 22.0
    room = page.shape[1] - 2 * left
    widest = max(cv2.getTextSize(t, font, scale, thick)[0][0] for t in lines)
    if widest > room:
        scale *= room / widest
    line = int(round(max(3.5 * ppmm * scale / (2.0 * ppmm / 22.0), 1)))
    y = top + line
    for text in lines:
        cv2.putText(page, text, (left, y), font, scale, 0, thick, cv2.LINE_AA)
        y += line
    # Scale bar with 10 mm ticks.
    y_bar = y + int(round(1.5 * ppmm))
    x_end = left + int(round(_SCALE_BAR_MM * ppmm))
    bar_h = max(2, int(round(1.5 * ppmm)))
    cv2.rectangle(page, (left, y_bar - bar_h // 2), (x_end, y_bar + bar_h // 2), 0, -1)
    for mm in range(0, int(_SCALE_BAR_MM) + 1, 10):
        x = left + int(round(mm * ppmm))
        cv2.line(page, (x, y_bar - 2 * bar_h), (x, y_bar + 2 * bar_h), 0, thick)
    cv2.putText(
        page, f"{_SCALE_BAR_MM:g} mm", (x_end + int(2 * ppmm), y_bar + bar_h), font, scale, 0, thick, cv2.LINE_AA
    )


def _png_with_dpi(image: np.ndarray, dpi: float) -> bytes:
    """PNG bytes of a grey image with a pHYs chunk stating the resolution."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise InputError("could not encode the print sheet as PNG.")
    data = buf.tobytes()
    ppm = int(round(dpi / 0.0254))
    body = b"pHYs" + struct.pack(">IIB", ppm, ppm, 1)
    chunk = struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    pos = 8 + 25  # after the signature and the IHDR chunk
    return data[:pos] + chunk + data[pos:]


def pdf_bytes(image: np.ndarray, page_mm: tuple[float, float]) -> bytes:
    """A one-page PDF of ``page_mm`` (w, h) millimetres showing the grey ``image`` over the whole page."""
    h, w = image.shape[:2]
    wpt, hpt = page_mm[0] / 25.4 * 72.0, page_mm[1] / 25.4 * 72.0
    pixels = zlib.compress(np.ascontiguousarray(image, dtype=np.uint8).tobytes(), 6)
    content = f"q {wpt:.4f} 0 0 {hpt:.4f} 0 0 cm /Im0 Do Q\n".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {wpt:.4f} {hpt:.4f}] "
            "/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>"
        ).encode(),
        (
            f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray "
            f"/BitsPerComponent 8 /Filter /FlateDecode /Length {len(pixels)} >>\nstream\n"
        ).encode()
        + pixels
        + b"\nendstream",
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for k, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{k} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def save_print_sheet(board: Board, path: str | os.PathLike, paper: str = "A4", dpi: float = 300.0) -> PrintSheet:
    """Render the print sheet and write it as PNG or PDF (by the file's suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".pdf"):
        raise InputError(f"print sheets are written as .png or .pdf, not '{path.suffix or path.name}'.")
    sheet = render_print_sheet(board, paper, dpi)
    data = _png_with_dpi(sheet.image, dpi) if suffix == ".png" else pdf_bytes(sheet.image, sheet.paper_mm)
    atomic_write(path, data, write_error(InputError, "the print sheet"))
    return sheet
