"""Boards: spec strings, board TOML (CrossView's and Caliscope's), print sheets at true size."""

from __future__ import annotations

import re
import struct
import tomllib

import cv2
import numpy as np
import pytest

from calibration.boards import Board
from calibration.detect import BoardDetector
from calibration.io import load_board, parse_board_spec, resolve_board, save_board
from calibration.printing import render_board, render_print_sheet, save_print_sheet
from core.errors import InputError
from tests.paths import CALISCOPE, need


def test_parse_chessboard_spec():
    b = parse_board_spec("chessboard:9x6:0.025")
    assert (b.kind, b.cols, b.rows, b.square) == ("chessboard", 9, 6, 0.025)
    assert b.n_corners == 54 and b.squares == (10, 7)
    obj = b.object_points
    assert obj.shape == (54, 3)
    # id = row * cols + col at (col * square, row * square, 0)
    np.testing.assert_allclose(obj[10], [0.025, 0.025, 0.0])
    assert parse_board_spec(b.spec()) == b


def test_parse_charuco_spec_with_flags():
    b = parse_board_spec("charuco:5x7:0.04:0.02:6x6_250:legacy:inverted")
    assert b.kind == "charuco" and b.dictionary == "DICT_6X6_250" and b.legacy and b.inverted
    assert b.n_corners == 24 and b.object_points.shape == (24, 3)
    assert parse_board_spec(b.spec()) == b


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("chessboard:9x6", "not understood"),
        ("chessboard:9by6:0.025", "must look like 9x6"),
        ("chessboard:9x6:abc", "numbers in metres"),
        ("chessboard:9x6:25", "METRES"),
        ("chessboard:1x6:0.025", "INNER corners"),
        ("charuco:5x7:0.04", "marker size and dictionary"),
        ("charuco:5x7:0.04:0.05:DICT_6X6_250", "smaller than the square"),
        ("charuco:20x20:0.04:0.02:DICT_4X4_50", "needs 200 markers"),
        ("charuco:5x7:0.04:0.02:DICT_9X9_50", "unknown ArUco dictionary"),
    ],
)
def test_bad_specs_say_what_to_do(spec, needle):
    with pytest.raises(InputError, match=re.escape(needle)):
        parse_board_spec(spec)


def test_board_toml_round_trip_in_metres(tmp_path):
    for board in (
        Board.chessboard(9, 6, 0.025),
        Board.charuco(5, 7, 0.04, 0.02, "DICT_6X6_250", legacy=True, inverted=True),
    ):
        path = save_board(board, tmp_path / f"{board.kind}.toml")
        text = path.read_text()
        assert "Units: metres" in text
        data = tomllib.loads(text)
        assert data["units"] == "m" and data["type"] == board.kind
        assert load_board(path) == board
        assert resolve_board(str(path)) == board


def test_board_toml_in_millimetres_is_converted(tmp_path):
    path = tmp_path / "mm.toml"
    path.write_text('type = "chessboard"\ncolumns = 9\nrows = 6\nsquare_size = 25\nunits = "mm"\n')
    assert load_board(path).square == pytest.approx(0.025)


def test_caliscope_charuco_toml():
    board = load_board(need(CALISCOPE / "charuco.toml"))
    assert board.kind == "charuco"
    assert (board.cols, board.rows) == (4, 5)
    assert board.dictionary == "DICT_4X4_1000"
    assert board.square == pytest.approx(0.054)
    assert board.marker == pytest.approx(0.054 * 0.75)
    assert board.inverted and not board.legacy


def test_caliscope_charuco_without_override_uses_paper_size(tmp_path):
    path = tmp_path / "charuco.toml"
    path.write_text(
        'columns = 4\nrows = 5\nboard_height = 11.0\nboard_width = 8.5\ndictionary = "DICT_4X4_50"\n'
        'units = "inch"\naruco_scale = 0.75\n'
    )
    board = load_board(path)
    assert board.square == pytest.approx(min(11.0 * 0.0254 / 5, 8.5 * 0.0254 / 4))
    assert board.marker == pytest.approx(0.75 * board.square)


def test_missing_and_broken_board_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_board(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("columns = [")
    with pytest.raises(InputError, match="not valid TOML"):
        load_board(bad)
    partial = tmp_path / "partial.toml"
    partial.write_text('type = "charuco"\ncolumns = 5\nrows = 7\nsquare_size = 0.04\n')
    with pytest.raises(InputError, match="marker_size"):
        load_board(partial)


def test_rendered_charuco_matches_opencv_and_is_detected():
    board = Board.charuco(5, 7, 0.04, 0.02, "DICT_6X6_250")
    img = render_board(board, px_per_m=100 / 0.04)  # 100 px per square
    ref = board.cv_board().generateImage((500, 700), marginSize=0, borderBits=1)
    assert img.shape == (700, 500)
    assert np.count_nonzero(img != ref) == 0
    page = cv2.copyMakeBorder(img, 50, 50, 50, 50, cv2.BORDER_CONSTANT, value=255)
    det = BoardDetector(board).detect(page)
    assert det.found and det.n == 24


def _pdf_mediabox(data: bytes) -> tuple[float, float]:
    m = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)
    assert m, "no MediaBox"
    return float(m.group(1)), float(m.group(2))


@pytest.mark.parametrize(
    ("board", "paper"),
    [
        (Board.chessboard(9, 6, 0.02), "A4"),
        (Board.charuco(4, 5, 0.035, 0.026, "DICT_4X4_1000", inverted=True), "Letter"),
    ],
)
def test_print_sheet_true_size_png_and_pdf(tmp_path, board, paper):
    sheet = save_print_sheet(board, tmp_path / "board.pdf", paper=paper, dpi=300)
    pw, ph = sheet.paper_mm
    wpt, hpt = _pdf_mediabox((tmp_path / "board.pdf").read_bytes())
    # The page is the paper at 72 points per inch, and the image covers it exactly.
    assert wpt == pytest.approx(pw / 25.4 * 72, abs=0.01) and hpt == pytest.approx(ph / 25.4 * 72, abs=0.01)
    assert sheet.image.shape == (round(ph / 25.4 * 300), round(pw / 25.4 * 300))
    x, y, w, h = sheet.board_px
    assert w / sheet.px_per_mm == pytest.approx(board.size_m[0] * 1000, abs=0.1)
    assert h / sheet.px_per_mm == pytest.approx(board.size_m[1] * 1000, abs=0.1)
    small = cv2.resize(sheet.image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    det = BoardDetector(board).detect(small)
    assert det.found and det.n == board.n_corners
    png = tmp_path / "board.png"
    save_print_sheet(board, png, paper=paper, dpi=300)
    raw = png.read_bytes()
    i = raw.index(b"pHYs")
    ppm = struct.unpack(">I", raw[i + 4 : i + 8])[0]
    assert ppm == round(300 / 0.0254)
    assert cv2.imread(str(png), cv2.IMREAD_GRAYSCALE).shape == sheet.image.shape


def test_board_too_big_for_the_paper_says_the_largest_square():
    with pytest.raises(InputError, match=r"at most \d+\.\d mm"):
        render_print_sheet(Board.chessboard(9, 6, 0.04), "A4")
    with pytest.raises(InputError, match="unknown paper"):
        render_print_sheet(Board.chessboard(9, 6, 0.02), "B7")
