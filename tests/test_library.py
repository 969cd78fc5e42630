"""MotionLibrary: interpolation, looping, clamping, sampling, dataset files and bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from mimic_lit.errors import MimicLitError, MotionFormatError
from mimic_lit.motion.clip import MotionClip
from mimic_lit.motion.kinematics import forward_kinematics
from mimic_lit.motion.library import MotionLibrary, resolve_motion_path
from mimic_lit.motion.shipped import shipped_clip_paths
from mimic_lit.robots import RobotSpec, get_robot

BALL_MJCF = """
<mujoco model="balls">
  <compiler angle="radian"/>
  <worldbody>
    <body name="root" pos="0 0 1">
      <freejoint/>
      <geom type="sphere" size="0.1"/>
      <body name="a" pos="0.2 0 0">
        <joint name="hinge_a" type="hinge" axis="0 1 0" range="-2 2"/>
        <geom type="sphere" size="0.05"/>
        <body name="b" pos="0.2 0 0">
          <joint name="ball_b" type="ball" pos="0.05 0 0"/>
          <geom type="sphere" size="0.05"/>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def random_clip(robot: RobotSpec, frames: int, fps: float, loop: str, seed: int, name: str = "") -> MotionClip:
    """A clip with random (but smooth enough) root motion and random joint values, ball joints unit."""
    rng = np.random.default_rng(seed)
    joint_pos = rng.uniform(-0.8, 0.8, (frames, robot.num_joint_coords))
    col = 0
    for _, _, width, _ in robot._joint_table:
        if width == 4:
            joint_pos[:, col : col + 4] = _unit(np.array([1.0, 0, 0, 0]) + rng.normal(0, 0.4, (frames, 4)))
        col += width
    return MotionClip(
        fps=fps,
        root_pos=np.cumsum(rng.normal(0, 0.05, (frames, 3)), 0) + [0, 0, 0.8],
        root_quat=_unit(np.array([1.0, 0, 0, 0]) + rng.normal(0, 0.3, (frames, 4))),
        joint_pos=joint_pos,
        loop=loop,  # type: ignore[arg-type]
        robot=robot.name,
        name=name or f"clip{seed}",
    )


@pytest.fixture(scope="module")
def ball_robot(tmp_path_factory) -> RobotSpec:
    path = tmp_path_factory.mktemp("balls") / "balls.xml"
    path.write_text(BALL_MJCF)
    return RobotSpec(
        name="balls_test",
        mjcf=str(path),  # absolute: pathlib ignores the robot data folder
        pd_gains={".*": (10.0, 1.0)},
        key_bodies=("b",),
        contact_bodies=(),
        foot_bodies=("a", "b"),
        default_root_height=1.0,
    )


@pytest.fixture(scope="module")
def ball_lib(ball_robot) -> tuple[MotionLibrary, list[MotionClip]]:
    clips = [
        random_clip(ball_robot, 11, 10.0, "clamp", 0),
        random_clip(ball_robot, 7, 30.0, "wrap", 1),
        random_clip(ball_robot, 1, 30.0, "wrap", 2),  # a single pose
    ]
    return MotionLibrary(clips, robot=ball_robot, dtype=torch.float64), clips


@pytest.fixture(scope="module")
def g1_clips() -> list[MotionClip]:
    g1 = get_robot("g1")
    return [random_clip(g1, 31, 30.0, "wrap", 10), random_clip(g1, 50, 50.0, "clamp", 11)]


def _frames_of(clip: MotionClip) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(getattr(clip, k)) for k in ("root_pos", "root_quat", "joint_pos")}


def _same_quat(a: torch.Tensor, b: torch.Tensor, atol: float) -> None:
    """Equal rotations (q ~ -q)."""
    dot = (a * b).sum(-1).abs()
    assert (1.0 - dot).max() < atol, float((1.0 - dot).max())


# --------------------------------------------------------------------------------------- interpolation
@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_exact_frame_times_reproduce_frames(ball_robot, dtype, atol):
    clips = [random_clip(ball_robot, 11, 10.0, "clamp", 0), random_clip(ball_robot, 25, 30.0, "wrap", 1)]
    lib = MotionLibrary(clips, robot=ball_robot, dtype=dtype)
    for c, clip in enumerate(clips):
        # a looping clip's last frame is the next cycle's first: t = duration maps to frame 0 (+ shift)
        n = clip.num_frames - (clip.loop == "wrap")
        times = torch.arange(n, dtype=torch.float64) / clip.fps
        frame = lib.get_frames(torch.full((n,), c), times)
        ref = {k: v[:n] for k, v in _frames_of(clip).items()}
        torch.testing.assert_close(frame.root_pos.double(), ref["root_pos"], atol=atol, rtol=0)
        torch.testing.assert_close(frame.joint_pos.double(), ref["joint_pos"], atol=atol, rtol=0)
        _same_quat(frame.root_quat.double(), ref["root_quat"], atol)


def test_halfway_is_slerp_midpoint(ball_lib):
    lib, clips = ball_lib
    clip = clips[0]
    n = clip.num_frames - 1
    times = (torch.arange(n, dtype=torch.float64) + 0.5) / clip.fps
    frame = lib.get_frames(torch.zeros(n, dtype=torch.long), times)
    ref = _frames_of(clip)
    torch.testing.assert_close(frame.root_pos, 0.5 * (ref["root_pos"][:-1] + ref["root_pos"][1:]))

    def midpoint(q: torch.Tensor) -> torch.Tensor:  # slerp at 1/2 = normalised sum (shortest arc)
        q0, q1 = q[:-1], q[1:]
        q1 = torch.where((q0 * q1).sum(-1, keepdim=True) < 0, -q1, q1)
        m = q0 + q1
        return m / m.norm(dim=-1, keepdim=True)

    _same_quat(frame.root_quat, midpoint(ref["root_quat"]), 1e-12)
    hinge = ref["joint_pos"][:, 0]
    torch.testing.assert_close(frame.joint_pos[:, 0], 0.5 * (hinge[:-1] + hinge[1:]))
    ball = frame.joint_pos[:, 1:5]
    _same_quat(ball, midpoint(ref["joint_pos"][:, 1:5]), 1e-12)
    assert torch.allclose(ball.norm(dim=-1), torch.ones(n, dtype=torch.float64))


def test_wrap_repeats_and_advances(ball_lib):
    lib, clips = ball_lib
    clip = clips[1]
    dur = clip.duration
    disp = torch.as_tensor(clip.root_pos[-1] - clip.root_pos[0])
    disp[2] = 0.0
    base_t = torch.tensor([0.0, 0.013, 0.07, dur * 0.5, dur - 1e-3], dtype=torch.float64)
    ids = torch.ones(len(base_t), dtype=torch.long)
    base = lib.get_frames(ids, base_t)
    for k in (-2, -1, 1, 3):
        shifted = lib.get_frames(ids, base_t + k * dur)
        torch.testing.assert_close(shifted.root_pos, base.root_pos + k * disp, atol=1e-9, rtol=0)
        torch.testing.assert_close(shifted.joint_pos, base.joint_pos, atol=1e-9, rtol=0)
        torch.testing.assert_close(shifted.root_quat, base.root_quat, atol=1e-9, rtol=0)
        torch.testing.assert_close(shifted.joint_vel, base.joint_vel, atol=1e-7, rtol=0)
    assert torch.as_tensor(clip.root_pos[-1, 2]) != torch.as_tensor(clip.root_pos[0, 2])  # height not carried


def test_clamp_holds_ends_and_single_frame_clips(ball_lib):
    lib, clips = ball_lib
    clip = clips[0]
    ref = _frames_of(clip)
    after = lib.get_frames(torch.zeros(3, dtype=torch.long), torch.tensor([clip.duration, clip.duration + 0.3, 100.0]))
    torch.testing.assert_close(after.root_pos, ref["root_pos"][-1].expand(3, 3))
    torch.testing.assert_close(after.joint_pos, ref["joint_pos"][-1].expand(3, -1))
    before = lib.get_frames(torch.zeros(1, dtype=torch.long), torch.tensor([-4.0]))
    torch.testing.assert_close(before.root_pos[0], ref["root_pos"][0])
    single = lib.get_frames(torch.full((3,), 2), torch.tensor([-1.0, 0.0, 5.0]))
    torch.testing.assert_close(single.root_pos, torch.as_tensor(clips[2].root_pos).expand(3, 3))
    assert torch.isfinite(single.root_lin_vel).all() and single.root_lin_vel.abs().max() == 0


def test_velocities_of_constant_rate_clip():
    g1 = get_robot("g1")
    n, fps = 20, 30.0
    t = np.arange(n) / fps
    rates = np.linspace(-1.0, 1.0, g1.num_joint_coords)
    clip = MotionClip(
        fps=fps,
        root_pos=np.stack([0.5 * t, -0.2 * t, 0.8 + 0 * t], 1),
        root_quat=np.stack([np.cos(0.3 * t / 2), 0 * t, 0 * t, np.sin(0.3 * t / 2)], 1),
        joint_pos=t[:, None] * rates,
        robot="g1",
    )
    lib = MotionLibrary([clip], dtype=torch.float64)
    f = lib.get_frames(torch.zeros(5, dtype=torch.long), torch.tensor([0.0, 0.1, 0.2, 0.3, 0.6]))
    torch.testing.assert_close(f.root_lin_vel, torch.tensor([0.5, -0.2, 0.0], dtype=torch.float64).expand(5, 3))
    torch.testing.assert_close(f.root_ang_vel, torch.tensor([0.0, 0.0, 0.3], dtype=torch.float64).expand(5, 3))
    torch.testing.assert_close(f.joint_vel, torch.as_tensor(rates).expand(5, -1))


def test_bodies_on_request(g1_clips):
    lib = MotionLibrary(g1_clips)
    ids, times = torch.tensor([0, 1, 1]), torch.tensor([0.2, 0.55, 0.9])
    plain = lib.get_frames(ids, times)
    assert plain.body_pos is None and plain.body_lin_vel is None
    with_bodies = lib.get_frames(ids, times, bodies=True)
    pos, quat = forward_kinematics(lib.skeleton, plain.root_pos, plain.root_quat, plain.joint_pos)
    torch.testing.assert_close(with_bodies.body_pos, pos)
    torch.testing.assert_close(with_bodies.body_quat, quat)
    full = lib.get_frames(ids, times, body_vel=True)
    assert full.body_lin_vel.shape == (3, lib.skeleton.num_bodies, 3)
    torch.testing.assert_close(full.body_lin_vel[:, 0], plain.root_lin_vel)  # body 0 is the root
    torch.testing.assert_close(full.body_ang_vel[:, 0], plain.root_ang_vel)


# --------------------------------------------------------------------------------------- sampling
def test_sample_clips_follow_weights(ball_robot):
    clips = [random_clip(ball_robot, 5, 30.0, "clamp", s) for s in range(4)]
    weights = [1.0, 2.0, 3.0, 4.0]
    lib = MotionLibrary(clips, weights, robot=ball_robot)
    n = 40_000
    ids = lib.sample_clips(n, torch.Generator().manual_seed(0))
    counts = torch.bincount(ids, minlength=4).double()
    expected = torch.tensor(weights, dtype=torch.float64) / 10.0 * n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 16.27, f"chi-square {chi2:.2f} (df 3, p = 0.001 threshold 16.27), counts {counts.tolist()}"
    zero = MotionLibrary(clips, [0.0, 1.0, 0.0, 1.0], robot=ball_robot)
    assert set(zero.sample_clips(2000, torch.Generator().manual_seed(1)).tolist()) == {1, 3}


def test_sample_times_within_clip(ball_lib):
    lib, _ = ball_lib
    g = torch.Generator().manual_seed(0)
    ids = lib.sample_clips(5000, g)
    times = lib.sample_times(ids, g)
    assert (times >= 0).all() and (times <= lib.clip_lengths[ids]).all()
    truncated = lib.sample_times(ids, g, truncate_end=0.5)
    assert (truncated <= (lib.clip_lengths[ids] - 0.5).clamp_min(0)).all()
    assert truncated.max() > 0


def test_ten_thousand_queries_are_one_batched_call(g1_clips):
    lib = MotionLibrary(g1_clips * 5)
    g = torch.Generator().manual_seed(0)
    ids = lib.sample_clips(10_000, g)
    times = lib.sample_times(ids, g) * 3.0 - 0.5  # wrap, clamp and negative times
    lib.get_frames(ids, times)  # warm up
    t0 = time.perf_counter()
    frame = lib.get_frames(ids, times)
    elapsed = time.perf_counter() - t0
    print(f"\nMotionLibrary.get_frames: 10k queries in {elapsed * 1e3:.1f} ms")
    assert frame.root_pos.shape == (10_000, 3) and frame.joint_vel.shape == (10_000, lib.skeleton.num_joint_dofs)
    assert torch.isfinite(frame.root_pos).all() and torch.isfinite(frame.joint_pos).all()
    assert elapsed < 1.0  # a per-query Python loop would take seconds


# --------------------------------------------------------------------------------------- files and errors
def test_from_dataset_yaml(tmp_path, g1_clips):
    (tmp_path / "clips").mkdir()
    g1_clips[0].save(tmp_path / "clips" / "a.npz")
    g1_clips[1].save(tmp_path / "clips" / "b.npz")
    shipped = shipped_clip_paths("g1")
    extra = f"  - file: shipped:g1/{shipped[0].stem}\n    weight: 0.5\n" if shipped else ""
    (tmp_path / "data.yaml").write_text(
        "robot: g1\nmotions:\n  - file: clips/a.npz\n    weight: 3\n  - clips/b.npz\n" + extra
    )
    lib = MotionLibrary.from_dataset_yaml(tmp_path / "data.yaml", dtype=torch.float64)
    assert lib.num_clips == (3 if shipped else 2) and lib.robot.name == "g1"
    expected = torch.tensor([3.0, 1.0] + ([0.5] if shipped else []), dtype=torch.float64)
    torch.testing.assert_close(lib.weights, expected / expected.sum())
    torch.testing.assert_close(lib.clip_lengths[:2], torch.tensor([1.0, 0.98], dtype=torch.float64))
    assert lib.to("cpu") is lib and lib.root_pos.device.type == "cpu"


def test_shipped_syntax():
    with pytest.raises(MotionFormatError, match="shipped:<robot>/<name>"):
        resolve_motion_path("shipped:walk")
    with pytest.raises(MotionFormatError, match="no shipped clip"):
        resolve_motion_path("shipped:g1/no_such_clip")
    paths = shipped_clip_paths("humanoid")
    if paths:
        assert resolve_motion_path(f"shipped:humanoid/{paths[0].stem}") == paths[0]
        lib = MotionLibrary([f"shipped:humanoid/{p.stem}" for p in paths])
        assert lib.num_clips == len(paths) and lib.robot.name == "humanoid"


@pytest.mark.parametrize(
    "text, message",
    [
        ("motions: []", "non-empty 'motions'"),
        ("[1, 2", "not valid YAML"),
        ("motions:\n  - weight: 1", r"motions\[0\] needs a 'file'"),
        ("motions:\n  - file: a.npz\n    weight: -1", "weight -1"),
        ("motions:\n  - file: missing.npz", "not found"),
        ("robot: k1\nmotions:\n  - a.npz", "not 'g1'|robot"),
    ],
)
def test_dataset_yaml_errors(tmp_path, g1_clips, text, message):
    g1_clips[0].save(tmp_path / "a.npz")
    (tmp_path / "d.yaml").write_text(text)
    robot = "g1" if "robot:" in text else None
    with pytest.raises(MimicLitError, match=message) as err:
        MotionLibrary.from_dataset_yaml(tmp_path / "d.yaml", robot=robot)
    assert "\n" not in str(err.value)


def test_library_errors(g1_clips, ball_robot):
    with pytest.raises(MotionFormatError, match="at least one clip"):
        MotionLibrary([])
    with pytest.raises(MotionFormatError, match="dataset file not found"):
        MotionLibrary.from_dataset_yaml("/nonexistent/data.yaml")
    with pytest.raises(MotionFormatError, match="2 weights for 1 clips"):
        MotionLibrary(g1_clips[:1], [1.0, 2.0])
    with pytest.raises(MotionFormatError, match="not all 0"):
        MotionLibrary(g1_clips, [0.0, 0.0])
    k1_clip = random_clip(get_robot("k1"), 5, 30.0, "clamp", 3)
    with pytest.raises(MotionFormatError, match="robot 'g1' has 29"):
        MotionLibrary([g1_clips[0], k1_clip])  # wrong joint count for the first clip's robot
    anonymous = random_clip(get_robot("g1"), 5, 30.0, "clamp", 4)
    anonymous.robot = ""
    with pytest.raises(MotionFormatError, match="cannot tell which robot"):
        MotionLibrary([anonymous])
    assert MotionLibrary([anonymous], robot="g1").num_clips == 1
    with pytest.raises(MotionFormatError, match="has 29 joint values per frame but robot 'balls_test' has 5"):
        MotionLibrary([g1_clips[0]], robot=ball_robot)
    other = random_clip(ball_robot, 5, 30.0, "clamp", 5)
    other.robot = "other"
    with pytest.raises(MotionFormatError, match="'other' but the clip is used with 'balls_test'"):
        MotionLibrary([other], robot=ball_robot)
    lib = MotionLibrary(g1_clips)
    with pytest.raises(MotionFormatError, match="same length"):
        lib.get_frames(torch.tensor([0, 1]), torch.tensor([0.0]))


def test_shipped_dataset_resolves_and_a_typo_lists_the_choices():
    from mimic_lit.motion.loading import load_motion_library
    from mimic_lit.errors import MotionFormatError

    lib = load_motion_library("shipped:datasets/g1_locomotion", "g1")
    assert lib.num_clips == 18 and lib.robot.name == "g1"
    assert {"deepmimic_turn", "deepmimic_long_walk2_mirror"} <= set(lib.clip_names)  # the retargets made by mimic-lit are part of it
    assert float(lib.weights.max()) > float(lib.weights.min())  # the YAML's weights were applied
    with pytest.raises(MotionFormatError, match="g1_locomotion"):
        load_motion_library("shipped:datasets/g1_locomotio", "g1")
