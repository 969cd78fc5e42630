"""Offscreen rendering of robot poses and whole clips (kinematic playback, no physics).

``MotionRenderer`` owns a scene (robot + floor + lights from :func:`mimic_lit.sim.scene.build_scene`),
one ``MjData`` and a ``mujoco.Renderer``; each frame sets ``qpos``, runs ``mj_kinematics`` and
``mj_camlight`` (positions only, so any pose renders, even one that would explode in physics) and
reads the pixels. ``render_clip`` resamples a clip at the output frame rate, moves the camera along a
smoothed path and writes an MP4 or GIF.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from mimic_lit.errors import MimicLitError
from mimic_lit.motion.clip import MotionClip
from mimic_lit.render.arrows import add_arrows
from mimic_lit.render.camera import CameraMode, CameraPath, camera_path
from mimic_lit.render.gl import RenderBackendError, ensure_gl_backend
from mimic_lit.render.playback import ball_joint_columns, output_times, sample_qpos
from mimic_lit.render.video import check_output_path, write_video
from mimic_lit.robots import RobotSpec, get_robot

if TYPE_CHECKING:
    import mujoco

    from mimic_lit.sim.base import BallConfig

MAX_SIZE = 4096

RenderQuality = Literal["fast", "high"]
RENDER_QUALITIES: tuple[str, ...] = ("fast", "high")


class MotionRenderer:
    """Renders poses of one robot offscreen; use as a context manager (frees the GL context).

    ``quality="high"`` draws a shadow (it shows whether a foot really touches the floor);
    ``"fast"`` skips it, 2-3x faster with software OpenGL. See :func:`_render_model` for the
    other choices made for CPU rendering.

    With ``ball`` the scene also holds that ball (as in the simulator, after the robot): a pose
    may then carry the ball's 7 coordinates after the robot's; a pose without them hides it.
    """

    def __init__(
        self,
        robot: str | RobotSpec,
        width: int = 640,
        height: int = 480,
        quality: RenderQuality = "high",
        ball: BallConfig | None = None,
    ):
        if quality not in RENDER_QUALITIES:
            raise MimicLitError(f"quality must be one of {RENDER_QUALITIES}, got {quality!r}")
        if not (16 <= width <= MAX_SIZE and 16 <= height <= MAX_SIZE):
            raise MimicLitError(f"image size must be between 16 and {MAX_SIZE} pixels, got {width}x{height}")
        self.backend = ensure_gl_backend()
        import mujoco

        self.robot = get_robot(robot)
        self.model = _render_model(self.robot, quality, ball)
        self.robot_nq = int(self.model.nq) - (7 if ball is not None else 0)
        self._ball_geom = -1
        if ball is not None:
            from mimic_lit.sim.scene import BALL_NAME

            self._ball_geom = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_GEOM, BALL_NAME)
            self._ball_rgba = self.model.geom_rgba[self._ball_geom].copy()
        self.model.vis.global_.offwidth = max(int(self.model.vis.global_.offwidth), width)
        self.model.vis.global_.offheight = max(int(self.model.vis.global_.offheight), height)
        # Lights follow the robot horizontally, so a robot that walks away never leaves the lit,
        # shadowed area.
        self._world_lights = np.flatnonzero(self.model.light_bodyid == 0)
        self._light_pos0 = self.model.light_pos[self._world_lights].copy()
        self.data = mujoco.MjData(self.model)
        self.width, self.height = width, height
        try:
            self._renderer = mujoco.Renderer(self.model, height=height, width=width)
        except Exception as exc:  # noqa: BLE001 - GL failures come as many exception types
            raise RenderBackendError(
                f"cannot create an offscreen OpenGL context with MUJOCO_GL={self.backend} "
                f"({type(exc).__name__}: {exc})"
            ) from None
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.ball_columns = ball_joint_columns(self.model)
        self._mj = mujoco

    def render(
        self,
        qpos: np.ndarray,
        lookat: np.ndarray,
        distance: float,
        azimuth: float,
        elevation: float,
        marker: np.ndarray | None = None,
        arrows: Sequence[tuple[str, np.ndarray]] = (),
    ) -> np.ndarray:
        """(height, width, 3) uint8 image of the robot in pose ``qpos`` seen by a free camera.

        ``qpos`` holds the robot's coordinates, then the ball's if the scene has one (without them
        the ball is hidden). ``marker`` (x, y, radius) draws a flat green disc on the floor: a goal
        or a target location. ``arrows`` draws per (label, (K, 3) world points) an arrow along those
        points in the label's colour (see :mod:`mimic_lit.render.arrows`): a velocity command.
        """
        mj = self._mj
        qpos = np.asarray(qpos)
        if qpos.shape[0] not in (self.robot_nq, self.model.nq):
            raise MimicLitError(f"a pose has {qpos.shape[0]} coordinates, the scene has {self.model.nq}")
        self.data.qpos[: self.robot_nq] = qpos[: self.robot_nq]
        if self._ball_geom >= 0:
            shown = qpos.shape[0] == self.model.nq
            # A hidden ball sits far below the floor and is transparent.
            self.data.qpos[self.robot_nq :] = qpos[self.robot_nq :] if shown else [0.0, 0.0, -10.0, 1.0, 0.0, 0.0, 0.0]
            self.model.geom_rgba[self._ball_geom] = self._ball_rgba if shown else 0.0
        self.model.light_pos[self._world_lights, :2] = self._light_pos0[:, :2] + np.asarray(qpos[:2])
        mj.mj_kinematics(self.model, self.data)
        mj.mj_camlight(self.model, self.data)
        self.camera.lookat[:] = lookat
        self.camera.distance = distance
        self.camera.azimuth = azimuth
        self.camera.elevation = elevation
        self._renderer.update_scene(self.data, camera=self.camera)
        if marker is not None:
            _add_floor_disc(mj, self._renderer.scene, marker)
        if arrows:
            add_arrows(mj, self._renderer.scene, arrows)
        return self._renderer.render()

    def frames(self, qpos: np.ndarray, cam: CameraPath, indices: Iterator[int] | None = None) -> Iterator[np.ndarray]:
        """Render the rows of ``qpos`` (N, nq) along the camera path (optionally only ``indices``)."""
        for i in indices if indices is not None else range(qpos.shape[0]):
            yield self.render(qpos[i], cam.lookat[i], cam.distance, cam.azimuth, cam.elevation)

    def close(self) -> None:
        if getattr(self, "_renderer", None) is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> MotionRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()



def _add_floor_disc(mj, scene, marker: np.ndarray) -> None:
    """Append a thin green disc at ``marker`` = (x, y, radius) to an updated ``mjvScene``."""
    if scene.ngeom >= scene.maxgeom:
        return
    x, y, radius = (float(v) for v in marker)
    mj.mjv_initGeom(
        scene.geoms[scene.ngeom], int(mj.mjtGeom.mjGEOM_CYLINDER), np.array([radius, 0.003, 0.0]),
        np.array([x, y, 0.004]), np.eye(3).ravel(), np.array([0.15, 0.8, 0.25, 0.55], dtype=np.float32),
    )
    scene.ngeom += 1


def _render_model(robot: RobotSpec, quality: RenderQuality, ball: BallConfig | None = None) -> mujoco.MjModel:
    """The scene of :func:`mimic_lit.sim.scene.build_scene_spec`, tuned for offscreen CPU rendering.

    - One shadow, cast by the scene's overhead spot light (``high`` only). Directional-light
      shadows of some robot MJCFs draw streaks on a far floor and cost as much again.
    - A directional fill light when the robot's MJCF has none (the humanoid's), so bodies and
      floor are not left dark.
    - Floor checks of 0.5 m instead of 0.1 m: a readable scale for a 1-2 m robot, and far fewer
      edges for GIF compression when the camera pans.
    - No floor reflection and no multisampling: each costs about a whole extra scene render.
    """
    import mujoco

    from mimic_lit.sim.scene import SceneConfig, build_scene_spec

    # Actuators do not matter for kinematic playback; "pos" is the mode every robot's keyframes
    # (which store ctrl values) compile with.
    spec = build_scene_spec(robot, SceneConfig(control_mode="pos", visual=True))
    if ball is not None:
        from mimic_lit.sim.scene import add_ball

        add_ball(spec, ball)
    if not any(light.type == mujoco.mjtLightType.mjLIGHT_DIRECTIONAL for light in spec.lights):
        spec.worldbody.add_light(
            name="mimic_lit_fill", type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, pos=[0, 0, 4], dir=[0, 0, -1],
            diffuse=[0.5, 0.5, 0.5], specular=[0.1, 0.1, 0.1], castshadow=False,
        )
    model = spec.compile()
    model.vis.quality.offsamples = 0
    model.mat_reflectance[:] = 0.0
    floor = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_MATERIAL, "mimic_lit_floor")
    if floor >= 0:
        model.mat_texrepeat[floor] = [1.0, 1.0]
    model.light_castshadow[:] = 0
    sun = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_LIGHT, "mimic_lit_sun")
    if quality == "high" and sun >= 0:
        model.light_castshadow[sun] = 1
        model.vis.quality.shadowsize = 2048
    return model


@dataclass
class RenderResult:
    """What :func:`render_clip` wrote."""

    path: Path
    frames: int
    fps: float
    seconds: float  # wall time spent rendering and encoding
    bytes: int
    backend: str

    @property
    def render_fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


def render_clip(
    clip: MotionClip,
    out: str | Path,
    robot: str | RobotSpec | None = None,
    *,
    fps: float = 30.0,
    width: int = 640,
    height: int = 480,
    camera: CameraMode = "track",
    quality: RenderQuality = "high",
    start: float = 0.0,
    end: float | None = None,
    overwrite: bool = False,
    gif_colors: int = 128,
    progress: Callable[[int, int], None] | None = None,
) -> RenderResult:
    """Render ``clip`` on ``robot`` (default: the clip's robot) to ``out`` (``.mp4`` or ``.gif``).

    The clip is resampled at ``fps`` between ``start`` and ``end`` seconds and seen by a ``camera``
    that tracks the robot (``"track"``) or frames its whole path (``"fixed"``); ``quality`` is
    ``"high"`` (with a shadow) or ``"fast"``. ``out`` is checked (suffix, existing file) before
    anything is rendered, and written atomically. GIFs share one ``gif_colors`` palette computed
    from a dozen frames spread over the clip. ``progress(done, total)`` is called per frame.
    """
    path = check_output_path(out, overwrite=overwrite)
    spec = get_robot(robot if robot is not None else clip.robot)
    clip.validate(spec)
    is_mp4 = path.suffix.lower() == ".mp4"
    if is_mp4 and (width % 2 or height % 2):
        raise MimicLitError(f"MP4 needs an even width and height, got {width}x{height}")
    times = output_times(clip, fps, start, end)
    t0 = time.perf_counter()
    with MotionRenderer(spec, width, height, quality) as renderer:
        qpos = sample_qpos(clip, times, renderer.ball_columns)
        cam = camera_path(qpos[:, :3], qpos[:, 3:7], fps, camera, aspect=width / height)
        count = write_video(
            lambda i: renderer.render(qpos[i], cam.lookat[i], cam.distance, cam.azimuth, cam.elevation),
            qpos.shape[0], path, fps, gif_colors=gif_colors, progress=progress,
        )
        backend = renderer.backend
    return RenderResult(path, count, fps, time.perf_counter() - t0, path.stat().st_size, backend)
