"""SkeletonView: the reusable 3D view of CrossView (live capture, replay, calibration results, training).

Everything given to this view is in WORLD coordinates, metres. The GL scene itself is Z-up; the
world's up axis is declared with :meth:`SkeletonView.set_world_up` and the world is rotated for
display (one ``GLGraphicsItem`` transform, so points are never copied or rotated in Python).

Shapes: a skeleton is ``(17, 3)`` metres in the H36M-17 order of :mod:`core.skeleton`; NaN joints
(and every bone touching one) are hidden. Updates rewrite the data of existing GL items in place,
so 30-60 Hz updates do not allocate new GL objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph.opengl as gl
from OpenGL import GL
from OpenGL.GL import shaders
from pyqtgraph.opengl.GLGraphicsItem import GLGraphicsItem
from PySide6 import QtCore, QtGui

from app.theme import PALETTE
from core.camera import Camera, CameraGroup, optical_axes_meeting_point
from core.skeleton import ANKLES, BONE_SIDE, BONES, NUM_JOINTS, ROOT, SIDE, floor_below_ankles
from core.up_axis import rotation_to_z_up

RGBA = tuple[float, float, float, float]

#: Rotations world -> display (display is Z-up), keyed by the world's up axis. All proper rotations.
#: "+z" floor/mocap worlds; "-y" the camera-1 frame (display X = x, Y = z, Z = -y); "+y" TRC/BVH/OpenSim.
UP_AXES: dict[str, np.ndarray] = {up: rotation_to_z_up(up) for up in ("+z", "-y", "+y")}

BACKGROUND = PALETTE.rgba_f("base")
GRID_MAJOR = (0.55, 0.58, 0.65, 0.42)  # 1 m lines
GRID_MINOR = (0.55, 0.58, 0.65, 0.16)  # 0.5 m lines
AXIS_COLOURS: tuple[RGBA, RGBA, RGBA] = ((0.90, 0.30, 0.30, 1.0), (0.36, 0.78, 0.40, 1.0), (0.35, 0.55, 0.98, 1.0))
CAMERA_COLOUR: RGBA = (0.98, 0.80, 0.36, 1.0)


@dataclass(frozen=True)
class SkeletonStyle:
    """How one skeleton is drawn: side colours (RGBA 0-1), joint diameter (m), bone width (px)."""

    right: RGBA
    left: RGBA
    mid: RGBA
    joint_diameter_m: float = 0.055
    bone_width_px: float = 4.0
    label: str = ""

    @property
    def translucent(self) -> bool:
        return min(self.right[3], self.left[3], self.mid[3]) < 1.0

    def side_colours(self, side: np.ndarray) -> np.ndarray:
        """``(N,)`` sides (-1 right, 0 mid, +1 left) -> ``(N, 4)`` float32 RGBA."""
        table = np.array([self.right, self.mid, self.left], dtype=np.float32)
        return table[np.asarray(side) + 1]


SKELETON_STYLES: dict[str, SkeletonStyle] = {
    # vivid: the main (refined / live) skeleton
    "default": SkeletonStyle(right=(1.0, 0.44, 0.26, 1.0), left=(0.26, 0.65, 0.96, 1.0), mid=(0.93, 0.94, 0.95, 1.0)),
    # muted and translucent: a raw/coarse estimate under the refined one
    "coarse": SkeletonStyle(
        right=(0.85, 0.55, 0.50, 0.55),
        left=(0.50, 0.66, 0.82, 0.55),
        mid=(0.70, 0.71, 0.74, 0.55),
        joint_diameter_m=0.045,
        bone_width_px=2.5,
    ),
    # warm/teal: a reference or ground truth to compare against
    "reference": SkeletonStyle(
        right=(0.99, 0.76, 0.28, 1.0), left=(0.30, 0.86, 0.74, 1.0), mid=(0.80, 0.78, 0.62, 1.0), bone_width_px=3.0
    ),
}


# --- shaded sphere joints --------------------------------------------------------------------------------------

_SPHERE_VERTEX = """
uniform float u_scale;
uniform mat4 u_modelview;
uniform mat4 u_mvp;
in vec4 a_position;
in vec4 a_color;
in float a_size;
out vec4 v_color;

void main() {
    vec4 cpos = u_modelview * a_position;
    float dist = length(cpos.xyz);
    // Move the sprite to the sphere's front surface (along the eye ray, so its centre does not move
    // on screen): bones that end at the joint centre are then hidden inside the ball.
    vec4 eye = inverse(u_modelview) * vec4(0.0, 0.0, 0.0, 1.0);
    vec3 toward = eye.xyz / eye.w - a_position.xyz;
    float len = max(length(toward), 1e-6);
    float shift = min(0.5 * a_size, 0.9 * len);
    gl_Position = u_mvp * vec4(a_position.xyz + toward * (shift / len), 1.0);
    v_color = a_color;
    gl_PointSize = a_size / max(dist * u_scale, 1e-6);
}
"""

_SPHERE_FRAGMENT = """
in vec4 v_color;
out vec4 fragColor;

void main() {
    vec2 xy = (gl_PointCoord - 0.5) * 2.0;
    float r2 = dot(xy, xy);
    if (r2 > 1.0) discard;
    // sphere impostor lit from the viewer: the centre keeps the exact joint colour, the rim darkens
    vec3 n = vec3(xy.x, -xy.y, sqrt(1.0 - r2));
    float spec = pow(max(dot(n, normalize(vec3(-0.45, 0.55, 1.0))), 0.0), 48.0) * 0.45;
    vec3 rgb = v_color.rgb * (0.35 + 0.65 * n.z) + vec3(spec);
    fragColor = vec4(min(rgb, vec3(1.0)), v_color.a);
}
"""


class _SphereJoints(gl.GLScatterPlotItem):
    """Joints as shaded sphere impostors (point sprites) sized in metres (``size`` = diameter)."""

    _shaderProgram = None

    @staticmethod
    def getShaderProgram():  # pyqtgraph hook, called by paint()
        klass = _SphereJoints
        if klass._shaderProgram is not None:
            return klass._shaderProgram
        ctx = QtGui.QOpenGLContext.currentContext()
        fmt = ctx.format()
        if ctx.isOpenGLES() or fmt.version() < (3, 1):
            # no inverse() in old GLSL: fall back to pyqtgraph's flat discs
            return gl.GLScatterPlotItem.getShaderProgram()
        compiled = [
            shaders.compileShader(["#version 140\n", _SPHERE_VERTEX], GL.GL_VERTEX_SHADER),
            shaders.compileShader(["#version 140\n", _SPHERE_FRAGMENT], GL.GL_FRAGMENT_SHADER),
        ]
        program = shaders.compileProgram(*compiled)
        GL.glBindAttribLocation(program, 0, "a_position")
        GL.glBindAttribLocation(program, 1, "a_color")
        GL.glBindAttribLocation(program, 2, "a_size")
        GL.glLinkProgram(program)
        klass._shaderProgram = program
        return program


class _OverlayItem(GLGraphicsItem):
    """2D overlay (legend, hints) painted with QPainter over the 3D scene, in widget coordinates."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[RGBA]]] = []
        self.footer = ""
        self.setDepthValue(1000)

    def paint(self) -> None:
        view = self.view()
        if view is None or (not self.rows and not self.footer):
            return
        painter = QtGui.QPainter(view)
        try:
            painter.setRenderHints(QtGui.QPainter.RenderHint.Antialiasing | QtGui.QPainter.RenderHint.TextAntialiasing)
            font = QtGui.QFont(view.font())
            font.setPointSizeF(max(8.0, font.pointSizeF() * 0.95))
            painter.setFont(font)
            fm = QtGui.QFontMetrics(font)
            line_h = fm.height() + 4
            if self.rows:
                width = 24 + max(fm.horizontalAdvance(text) + 18 * len(cols) for text, cols in self.rows)
                box = QtCore.QRectF(10, 10, width, 10 + line_h * len(self.rows))
                painter.setPen(QtCore.Qt.PenStyle.NoPen)
                painter.setBrush(PALETTE.qcolor("legend_fill", 190 / 255))
                painter.drawRoundedRect(box, 6, 6)
                y = box.top() + 5
                for text, cols in self.rows:
                    x = box.left() + 10
                    for c in cols:
                        painter.setBrush(QtGui.QColor.fromRgbF(c[0], c[1], c[2], 1.0))
                        painter.drawEllipse(QtCore.QRectF(x, y + line_h / 2 - 5, 10, 10))
                        x += 14
                    painter.setPen(PALETTE.qcolor("legend_text"))
                    painter.drawText(QtCore.QPointF(x + 4, y + line_h / 2 + fm.ascent() / 2 - 2), text)
                    painter.setPen(QtCore.Qt.PenStyle.NoPen)
                    y += line_h
            if self.footer:
                painter.setPen(PALETTE.qcolor("legend_muted"))
                painter.drawText(QtCore.QPointF(12, view.height() - 10), self.footer)
        finally:
            painter.end()


@dataclass
class _Skeleton:
    """GL items and cached state of one named skeleton."""

    joints: _SphereJoints
    bones: gl.GLLinePlotItem
    style: SkeletonStyle
    valid: np.ndarray = field(default_factory=lambda: np.zeros(NUM_JOINTS, dtype=bool))
    points: np.ndarray | None = None


def _matrix4(R: np.ndarray, t: Sequence[float] = (0.0, 0.0, 0.0)) -> QtGui.QMatrix4x4:
    """QMatrix4x4 from a rotation ``(3, 3)`` and translation ``(3,)``."""
    M = np.eye(4)
    M[:3, :3] = R
    M[:3, 3] = t
    return QtGui.QMatrix4x4(*M.ravel().tolist())  # row-major constructor


def _qmatrix_to_numpy(m: QtGui.QMatrix4x4) -> np.ndarray:
    """QMatrix4x4 -> ``(4, 4)`` numpy (Qt stores column-major)."""
    return np.array(m.data(), dtype=np.float64).reshape(4, 4).T


def frustum_lines(camera: Camera, depth_m: float) -> np.ndarray:
    """Line segments of one camera's viewing pyramid in world coordinates: ``(S*2, 3)`` metres.

    The pyramid has its apex at the optical centre and its base at ``depth_m`` in front of the
    camera, spanning the image; a small triangle on the base's top edge marks the image's up side.
    """
    w, h = camera.size
    if w <= 0 or h <= 0:
        w, h = 2.0 * camera.K[0, 2], 2.0 * camera.K[1, 2]
    px = np.array([[0, 0], [w, 0], [w, h], [0, h], [0.35 * w, 0], [0.65 * w, 0], [0.5 * w, -0.18 * h]], float)
    rays = np.linalg.solve(camera.K, np.concatenate([px, np.ones((len(px), 1))], axis=1).T).T  # (7, 3), z = 1
    corners_cam = rays * depth_m
    corners = camera.camera_to_world(corners_cam)  # (7, 3)
    c = camera.center
    segs = [
        (c, corners[0]),
        (c, corners[1]),
        (c, corners[2]),
        (c, corners[3]),
        (corners[0], corners[1]),
        (corners[1], corners[2]),
        (corners[2], corners[3]),
        (corners[3], corners[0]),
        (corners[4], corners[6]),
        (corners[6], corners[5]),
    ]
    return np.asarray(segs, dtype=np.float32).reshape(-1, 3)


class SkeletonView(gl.GLViewWidget):
    """3D view of named skeletons, cameras and a metric floor grid (world coordinates in metres).

    Orbit (left drag), pan (middle drag / ctrl+left), zoom (wheel) come from ``GLViewWidget``.
    """

    DEFAULT_DISTANCE_M = 4.2
    DEFAULT_ELEVATION_DEG = 12.0
    DEFAULT_AZIMUTH_DEG = -62.0
    DEFAULT_CENTER_HEIGHT_M = 0.9

    def __init__(self, parent=None, *, world_up: str = "+z", show_legend: bool = True, grid_size_m: float = 8.0):
        super().__init__(parent)
        self.setBackgroundColor(tuple(int(255 * c) for c in BACKGROUND))
        self.setMinimumSize(320, 240)
        self.opts["fov"] = 50
        self._world_up = "+z"
        self._floor_height = 0.0
        self._follow = False
        self._follow_name: str | None = None
        self._skeletons: dict[str, _Skeleton] = {}
        self._camera_items: list[GLGraphicsItem] = []
        self._camera_group: CameraGroup | None = None

        # floor (display frame, Z = floor height): minor 0.5 m, major 1 m
        self._floor = GLGraphicsItem()
        self._floor.setDepthValue(-10)
        half = grid_size_m / 2.0
        minor = self._grid_segments(half, 0.5, skip_every=2)
        major = self._grid_segments(half, 1.0)
        self._grid_minor = gl.GLLinePlotItem(
            parentItem=self._floor,
            pos=minor,
            color=GRID_MINOR,
            mode="lines",
            width=1.0,
            antialias=True,
            glOptions="translucent",
        )
        self._grid_major = gl.GLLinePlotItem(
            parentItem=self._floor,
            pos=major,
            color=GRID_MAJOR,
            mode="lines",
            width=1.2,
            antialias=True,
            glOptions="translucent",
        )
        label_font = QtGui.QFont(self.font())
        label_font.setPointSizeF(max(7.0, label_font.pointSizeF() * 0.85))
        # metre marks along the display X axis, beside (not under) a person standing at the origin
        self._grid_labels = [
            gl.GLTextItem(
                parentItem=self._floor,
                pos=np.array([float(m), 0.0, 0.0]),
                text=f"{m:+d} m",
                color=(125, 131, 145),
                font=label_font,
                alignment=QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop,
            )
            for m in (-3, -2, -1, 1, 2, 3)
            if abs(m) <= half
        ]
        self.addItem(self._floor)

        # world root: everything given in world coordinates hangs under it
        self._world = GLGraphicsItem()
        self.addItem(self._world)
        axis_pos = np.array([[0, 0, 0], [0.5, 0, 0], [0, 0, 0], [0, 0.5, 0], [0, 0, 0], [0, 0, 0.5]], np.float32)
        axis_col = np.repeat(np.array(AXIS_COLOURS, np.float32), 2, axis=0)
        self._axes = gl.GLLinePlotItem(
            parentItem=self._world, pos=axis_pos, color=axis_col, mode="lines", width=3.0, glOptions="opaque"
        )
        bold = QtGui.QFont(self.font())
        bold.setBold(True)
        self._axis_labels = [
            gl.GLTextItem(
                parentItem=self._world,
                pos=axis_pos[2 * i + 1] * 1.12,
                text=name,
                color=tuple(int(255 * c) for c in AXIS_COLOURS[i]),
                font=bold,
                alignment=QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignVCenter,
            )
            for i, name in enumerate("XYZ")
        ]

        self._overlay = _OverlayItem()
        self._overlay.setVisible(show_legend)
        self.addItem(self._overlay)

        self.set_world_up(world_up)
        self.reset_view()

    # --- scene setup ------------------------------------------------------------------------------------------

    @staticmethod
    def _grid_segments(half: float, step: float, skip_every: int = 0) -> np.ndarray:
        """Grid lines on z=0 over [-half, half]: ``(S*2, 3)``; ``skip_every`` drops lines a coarser grid has."""
        n = int(round(2 * half / step))
        idx = np.arange(n + 1)
        if skip_every:
            idx = idx[idx % skip_every != 0]
        v = -half + idx * step
        a = np.stack([v, np.full_like(v, -half), np.zeros_like(v)], 1)
        b = np.stack([v, np.full_like(v, half), np.zeros_like(v)], 1)
        c = np.stack([np.full_like(v, -half), v, np.zeros_like(v)], 1)
        d = np.stack([np.full_like(v, half), v, np.zeros_like(v)], 1)
        segs = np.stack([np.concatenate([a, c]), np.concatenate([b, d])], 1).reshape(-1, 3).astype(np.float32)
        segs[:, 2] = -0.003  # 3 mm under the floor plane: no depth fight with world axes lying on it
        return segs

    def set_world_up(self, up: str) -> None:
        """Declare the world's up axis: ``"+z"`` (floor/mocap worlds), ``"-y"`` (camera-1 frame), ``"+y"`` (TRC/BVH)."""
        if up not in UP_AXES:
            raise ValueError(f"unknown up axis {up!r}; use one of {sorted(UP_AXES)}")
        self._world_up = up
        self._world.setTransform(_matrix4(UP_AXES[up]))
        self._update_overlay()
        self._apply_follow()
        self.update()

    def world_up(self) -> str:
        return self._world_up

    def set_floor_height(self, height_m: float) -> None:
        """Put the floor grid at this height along the world's up axis (metres; e.g. ``-1.6`` below a
        camera-1 world whose camera is 1.6 m above the floor, with up ``"-y"``)."""
        self._floor_height = float(height_m)
        self._floor.setTransform(_matrix4(np.eye(3), (0.0, 0.0, self._floor_height)))
        self.update()

    def set_legend_visible(self, visible: bool) -> None:
        self._overlay.setVisible(visible)
        self.update()

    # --- skeletons --------------------------------------------------------------------------------------------

    def set_skeleton(self, name: str, points: np.ndarray | None, style: str | SkeletonStyle = "default") -> None:
        """Show (or update) skeleton ``name`` from ``(17, 3)`` world points in metres.

        ``None`` hides the skeleton (its items stay, ready for the next frame); NaN joints and their
        bones are hidden. ``style`` names an entry of :data:`SKELETON_STYLES` or is a :class:`SkeletonStyle`.
        """
        st = SKELETON_STYLES[style] if isinstance(style, str) else style
        sk = self._skeletons.get(name)
        if sk is None:
            joints = _SphereJoints(parentItem=self._world, pxMode=False)
            bones = gl.GLLinePlotItem(parentItem=self._world, mode="lines", antialias=True)
            sk = _Skeleton(joints=joints, bones=bones, style=st)
            self._apply_gl_options(sk)
            self._skeletons[name] = sk
            self._update_overlay()
            style_changed = True
        else:
            style_changed = sk.style != st
            if style_changed:
                sk.style = st
                self._apply_gl_options(sk)
                self._update_overlay()
        if points is None:
            sk.points = None
            sk.joints.setVisible(False)
            sk.bones.setVisible(False)
            self.update()
            return
        pts = np.asarray(points, dtype=np.float32)
        if pts.shape != (NUM_JOINTS, 3):
            raise ValueError(f"set_skeleton expects ({NUM_JOINTS}, 3) world points in metres, got shape {pts.shape}")
        valid = np.isfinite(pts).all(axis=1)
        bone_valid = valid[BONES[:, 0]] & valid[BONES[:, 1]]
        sk.points = pts
        if style_changed or not np.array_equal(valid, sk.valid):
            sk.valid = valid
            sk.joints.setData(
                pos=pts[valid],
                color=st.side_colours(SIDE[valid]),
                # pyqtgraph sizes sprites against the logical width; the framebuffer has dpr times more pixels
                size=np.full(int(valid.sum()), st.joint_diameter_m * self.devicePixelRatioF(), np.float32),
            )
            sk.bones.setData(
                pos=pts[BONES[bone_valid]].reshape(-1, 3),
                color=np.repeat(st.side_colours(BONE_SIDE[bone_valid]), 2, axis=0),
                width=st.bone_width_px,
            )
        else:
            sk.joints.setData(pos=pts[valid])
            sk.bones.setData(pos=pts[BONES[bone_valid]].reshape(-1, 3))
        sk.joints.setVisible(bool(valid.any()))
        sk.bones.setVisible(bool(bone_valid.any()))
        if self._follow and name == self._followed_name():
            self._apply_follow()
        self.update()

    @staticmethod
    def _apply_gl_options(sk: _Skeleton) -> None:
        # translucent skeletons are drawn after opaque ones so that they blend over them
        glopt = "translucent" if sk.style.translucent else "opaque"
        depth = 5 if sk.style.translucent else 0
        for item, d in ((sk.bones, depth), (sk.joints, depth + 1)):
            item.setGLOptions(glopt)
            item.setDepthValue(d)

    def remove_skeleton(self, name: str) -> None:
        """Remove skeleton ``name`` and its GL items (no-op if absent)."""
        sk = self._skeletons.pop(name, None)
        if sk is None:
            return
        for item in (sk.joints, sk.bones):
            item.setParentItem(None)
        self._update_overlay()
        self.update()

    def clear_skeletons(self) -> None:
        for name in list(self._skeletons):
            self.remove_skeleton(name)

    def skeleton_names(self) -> list[str]:
        return list(self._skeletons)

    def skeleton_points(self, name: str) -> np.ndarray | None:
        """The last ``(17, 3)`` world points given for ``name`` (None if hidden or absent)."""
        sk = self._skeletons.get(name)
        return None if sk is None or sk.points is None else sk.points.copy()

    def skeleton_style(self, name: str) -> SkeletonStyle:
        return self._skeletons[name].style

    # --- cameras ----------------------------------------------------------------------------------------------

    def set_cameras(self, group: CameraGroup | None, depth_m: float = 0.3) -> None:
        """Draw each camera of ``group`` as a viewing pyramid ``depth_m`` deep, labelled with its name.

        ``None`` removes them. Call once per calibration (not per frame).
        """
        for item in self._camera_items:
            item.setParentItem(None)
        self._camera_items = []
        self._camera_group = group
        if group is not None and len(group):
            segs = np.concatenate([frustum_lines(cam, depth_m) for cam in group])
            lines = gl.GLLinePlotItem(
                parentItem=self._world, pos=segs, color=CAMERA_COLOUR, mode="lines", width=2.0, glOptions="opaque"
            )
            self._camera_items.append(lines)
            font = QtGui.QFont(self.font())
            font.setBold(True)
            for cam in group:
                label = gl.GLTextItem(
                    parentItem=self._world,
                    pos=cam.center.astype(float),
                    text=f"  {cam.name}",
                    color=tuple(int(255 * c) for c in CAMERA_COLOUR),
                    font=font,
                )
                self._camera_items.append(label)
        self.update()

    def camera_group(self) -> CameraGroup | None:
        return self._camera_group

    # --- camera of the view -----------------------------------------------------------------------------------

    def reset_view(self) -> None:
        """Frame a standing person at the world origin (or the followed skeleton) from the front-right."""
        self.opts["fov"] = 50
        self.setCameraPosition(
            pos=QtGui.QVector3D(0.0, 0.0, self._floor_height + self.DEFAULT_CENTER_HEIGHT_M),
            distance=self.DEFAULT_DISTANCE_M,
            elevation=self.DEFAULT_ELEVATION_DEG,
            azimuth=self.DEFAULT_AZIMUTH_DEG,
        )
        self._apply_follow()

    def fit_to(self, points: np.ndarray, margin: float = 1.1) -> None:
        """Aim at the centre of world points ``(..., 3)`` m (NaNs ignored) and back off until they all fit."""
        pts = self.world_to_display(np.asarray(points, dtype=np.float64).reshape(-1, 3))
        pts = pts[np.isfinite(pts).all(axis=1)]
        if not len(pts):
            return
        centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
        radius = max(float(np.linalg.norm(pts - centre, axis=1).max()), 0.5)
        half_h = np.radians(self.opts["fov"]) / 2
        half_v = np.arctan(np.tan(half_h) * self.height() / max(self.width(), 1))
        distance = margin * radius / np.sin(min(half_h, half_v))
        self.setCameraPosition(pos=QtGui.QVector3D(*centre.tolist()), distance=float(distance))

    def azimuth_behind_cameras(self, centre: np.ndarray, cameras: CameraGroup | None) -> float:
        """The view azimuth (degrees) that looks at display point ``centre`` ``(3,)`` m from behind the cameras
        (20° to their right); the default azimuth without cameras."""
        if cameras is None or not len(cameras):
            return self.DEFAULT_AZIMUTH_DEG
        cams = self.world_to_display(np.stack([c.center for c in cameras]))
        d = cams.mean(axis=0) - np.asarray(centre, dtype=np.float64)
        if np.hypot(d[0], d[1]) <= 1e-6:
            return self.DEFAULT_AZIMUTH_DEG
        return math.degrees(math.atan2(d[1], d[0])) + 20.0

    def half_view_angle(self) -> float:
        """Half the smaller of the view's horizontal and vertical fields of view, radians."""
        half = math.radians(self.opts["fov"]) / 2
        aspect = self.height() / max(self.width(), 1)
        return min(half, math.atan(math.tan(half) * aspect)) if aspect < 1 else half

    def frame_points(
        self,
        points: np.ndarray,
        cameras: CameraGroup | None = None,
        *,
        elevation_deg: float = 14.0,
        margin: float = 1.05,
        radius_scale: float = 0.5,
        min_radius_m: float = 0.6,
        percentile: float = 2.0,
    ) -> bool:
        """Reset the view, then frame world points ``(..., 3)`` m (NaNs ignored) from behind ``cameras``.

        The ``percentile``-th to ``(100 - percentile)``-th box of the points is centred; its diagonal times
        ``radius_scale`` (at least ``min_radius_m``) fits in the view with ``margin``. False when no point is
        finite (the view is only reset).
        """
        self.reset_view()
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if not len(pts):
            return False
        disp = self.world_to_display(pts)
        lo, hi = np.percentile(disp, percentile, axis=0), np.percentile(disp, 100 - percentile, axis=0)
        centre = 0.5 * (lo + hi)
        radius = max(radius_scale * float(np.linalg.norm(hi - lo)), min_radius_m)
        self.setCameraPosition(
            pos=QtGui.QVector3D(*[float(v) for v in centre]),
            distance=margin * radius / math.sin(self.half_view_angle()),
            elevation=elevation_deg,
            azimuth=self.azimuth_behind_cameras(centre, cameras),
        )
        return True

    def frame_with_cameras(
        self,
        subject: np.ndarray | None,
        cameras: CameraGroup | None,
        *,
        elevation_deg: float = 16.0,
        frustum_depth_m: float = 0.3,
        inside: float = 0.9,
    ) -> bool:
        """Reset the view, then look at ``subject`` (world points ``(..., 3)`` m; NaNs ignored) — or, without
        one, at where the cameras' optical axes meet, 1 m above the floor — from behind ``cameras``, at the
        nearest distance at which the subject, the cameras' frusta and their names fit in the central
        ``inside`` of the view. False when there is nothing to frame."""
        self.reset_view()
        pts = np.empty((0, 3))
        if subject is not None:
            pts = np.asarray(subject, dtype=np.float64).reshape(-1, 3)
            pts = pts[np.isfinite(pts).all(axis=1)]
        has_cams = cameras is not None and len(cameras) > 0
        if not len(pts) and not has_cams:
            return False
        if len(pts):
            person = self.world_to_display(pts)
            centre = 0.5 * (person.min(axis=0) + person.max(axis=0))
        else:
            centres = self.world_to_display(np.stack([c.center for c in cameras]))
            axes = self.world_to_display(np.stack([c.R[2] for c in cameras]))
            centre = optical_axes_meeting_point(centres, axes)
            centre[2] = self._floor_height + 1.0
        azimuth = self.azimuth_behind_cameras(centre, cameras)
        shown = [pts]
        cams_world = None
        if has_cams:
            cams_world = np.stack([c.center for c in cameras])
            shown += [cams_world, np.concatenate([frustum_lines(c, frustum_depth_m) for c in cameras])]
        self._fit_distance(np.concatenate(shown), cams_world, cameras, centre, azimuth, elevation_deg, inside)
        return True

    def _fit_distance(self, points_world, cams_world, cameras, centre, azimuth, elevation, inside) -> None:
        """Bisect the nearest view distance (m) at which ``points_world`` project inside the central ``inside``
        of the view, with room for each camera's name right of it."""
        qcentre = QtGui.QVector3D(*[float(v) for v in centre])
        size = np.array([max(self.width(), 1), max(self.height(), 1)], dtype=np.float64)
        lo_px, hi_px = 0.5 * (1 - inside) * size, (1 - 0.5 * (1 - inside)) * size

        def fits(distance: float) -> bool:
            self.setCameraPosition(pos=qcentre, distance=distance, elevation=elevation, azimuth=azimuth)
            uv = self.project_to_widget(points_world, device_pixels=False)
            ok = bool(np.isfinite(uv).all() and (uv >= lo_px).all() and (uv <= hi_px).all())
            if ok and cams_world is not None:  # room for the camera names, written to the right of each camera
                label_w = 10.0 * max(len(c.name) + 2 for c in cameras)
                ok = bool((self.project_to_widget(cams_world, device_pixels=False)[:, 0] + label_w <= size[0]).all())
            return ok

        near, far = 0.5, 2.0
        while not fits(far) and far < 60.0:
            near, far = far, far * 2.0
        for _ in range(12):
            mid = 0.5 * (near + far)
            near, far = (near, mid) if fits(mid) else (mid, far)
        fits(far)

    def floor_under(self, poses: np.ndarray, percentile: float = 5.0) -> float | None:
        """The floor height (display Z, m) just under the ankles of world poses ``(..., 17, 3)`` m; None when
        no ankle is seen (see :func:`core.skeleton.floor_below_ankles`)."""
        ankles = np.asarray(poses, dtype=np.float64)[..., list(ANKLES), :]
        return floor_below_ankles(self.world_to_display(ankles.reshape(-1, 3))[:, 2], percentile)

    def set_follow(self, enabled: bool, name: str | None = None) -> None:
        """Make the view's target follow the pelvis of skeleton ``name`` (default: the first one shown)."""
        self._follow = bool(enabled)
        self._follow_name = name
        self._apply_follow()

    def follow_enabled(self) -> bool:
        return self._follow

    def _followed_name(self) -> str | None:
        if self._follow_name is not None:
            return self._follow_name
        return next(iter(self._skeletons), None)

    def _apply_follow(self) -> None:
        if not self._follow:
            return
        name = self._followed_name()
        sk = self._skeletons.get(name) if name is not None else None
        if sk is None or sk.points is None or not np.isfinite(sk.points[ROOT]).all():
            return
        p = self.world_to_display(sk.points[ROOT])
        self.opts["center"] = QtGui.QVector3D(float(p[0]), float(p[1]), float(p[2]))
        self.update()

    # --- geometry helpers -------------------------------------------------------------------------------------

    def world_to_display(self, points: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` m -> the Z-up display frame ``(..., 3)`` m."""
        return np.asarray(points, dtype=np.float64) @ UP_AXES[self._world_up].T

    def view_projection_matrix(self) -> np.ndarray:
        """``(4, 4)`` matrix mapping display-frame homogeneous points to clip space (projection @ view)."""
        vp = (0, 0, self.deviceWidth(), self.deviceHeight())
        P = _qmatrix_to_numpy(self.projectionMatrix(vp, vp))
        V = _qmatrix_to_numpy(self.viewMatrix())
        return P @ V

    def project_to_widget(self, points: np.ndarray, device_pixels: bool = True) -> np.ndarray:
        """World points ``(..., 3)`` m -> widget pixel coordinates ``(..., 2)`` (x right, y down).

        Uses this view's current projection and view matrices. ``device_pixels`` gives framebuffer
        pixels (what :meth:`grab_rgb` returns); otherwise logical widget coordinates. Points behind
        the viewer are NaN.
        """
        disp = self.world_to_display(points)
        hom = np.concatenate([disp, np.ones((*disp.shape[:-1], 1))], axis=-1)
        clip = hom @ self.view_projection_matrix().T
        w = clip[..., 3:4]
        ndc = clip[..., :2] / np.where(w > 1e-9, w, np.nan)
        scale = self.devicePixelRatioF() if device_pixels else 1.0
        width, height = self.width() * scale, self.height() * scale
        return np.stack([(ndc[..., 0] + 1.0) * 0.5 * width, (1.0 - ndc[..., 1]) * 0.5 * height], axis=-1)

    def grab_rgb(self) -> np.ndarray:
        """Render the scene now and return it as ``(H, W, 3)`` uint8 RGB in device pixels."""
        img = self.grabFramebuffer().convertToFormat(QtGui.QImage.Format.Format_RGB888)
        h, w, bpl = img.height(), img.width(), img.bytesPerLine()
        buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl).reshape(h, bpl)
        return buf[:, : 3 * w].reshape(h, w, 3).copy()

    # --- overlay ----------------------------------------------------------------------------------------------

    def _update_overlay(self) -> None:
        rows = [(f"{name}   left / right", [sk.style.left, sk.style.right]) for name, sk in self._skeletons.items()]
        self._overlay.rows = rows
        self._overlay.footer = f"grid 1 m / 0.5 m · world up {self._world_up.upper()} · drag to orbit, wheel to zoom"
        self.update()
