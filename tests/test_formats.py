"""Motion importers on the real source files, the shipped clips, bad inputs and `mimic-lit convert`."""

from __future__ import annotations

import argparse
import json
import os
import pickle

import joblib
import mujoco
import numpy as np
import pytest

from mimic_lit.errors import MimicLitError, MotionFormatError
from mimic_lit.motion.clip import MotionClip
from mimic_lit.motion.formats import FORMATS, load_motion, save_mimickit_pkl
from mimic_lit.motion.formats.asap_pkl import G1_23_TO_29
from mimic_lit.motion.shipped import SOURCE_DIR, shipped_clip_paths
from mimic_lit.robots import get_robot

DEEPMIMIC = SOURCE_DIR / "deepmimic"
KIMODO_WALK = SOURCE_DIR / "protomotions_kimodo/data/g1-kimodo-generated/output_walk.csv"
G1_MOVES = SOURCE_DIR / "g1_moves/karate/M_ShortMove13/retarget/M_ShortMove13.csv"
ASAP_WALK = next((SOURCE_DIR / "asap").rglob("*walk_level1*.pkl"))


def _one_line(exc_info: pytest.ExceptionInfo) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


def _up_z(quat_wxyz: np.ndarray) -> np.ndarray:
    """World z component of the body's z axis (1 = upright, -1 = upside down)."""
    w, x, y, _ = quat_wxyz.T
    return 1.0 - 2.0 * (x * x + y * y)


# ------------------------------------------------------------------------------------ shipped clips
def test_every_shipped_clip_loads_and_validates():
    paths = shipped_clip_paths()
    by_robot = {r: [p for p in paths if p.parent.name == r] for r in ("humanoid", "g1", "k1")}
    assert len(by_robot["humanoid"]) == len(list(DEEPMIMIC.glob("humanoid3d_*.txt"))) - 1  # minus the ctrl file
    assert len(by_robot["g1"]) == 15 + 5 + 3 + 5 + 6  # ASAP, Kimodo, G1 Moves, DeepMimic retargets and long walks
    assert len(by_robot["k1"]) == 5 + 6  # DeepMimic retargets and long walks
    for path in paths:
        robot = get_robot(path.parent.name)
        clip = MotionClip.load(path, robot)
        assert clip.robot == robot.name and clip.name == path.stem
        assert clip.source.startswith("sources/") and clip.num_frames >= 20
        assert clip.joint_names == robot.joint_names
    walk = MotionClip.load(by_robot["humanoid"][0].parent / "walk.npz")
    assert walk.loop == "wrap" and walk.fps == 30.0


# ------------------------------------------------------------------------------------ DeepMimic
def _deepmimic_fk(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Independent forward kinematics of humanoid3d.txt in DeepMimic's own Y-up frame (numpy)."""
    joints = json.loads((DEEPMIMIC / "humanoid3d.txt").read_text())["Skeleton"]["Joints"]

    def rotate(q, v):
        u, w = q[:, 1:], q[:, :1]
        t = 2.0 * np.cross(u, v)
        return v + w * t + np.cross(u, t)

    def mul(a, b):
        aw, ax, ay, az = a.T
        bw, bx, by, bz = b.T
        return np.stack(
            [
                aw * bw - ax * bx - ay * by - az * bz,
                aw * bx + ax * bw + ay * bz - az * by,
                aw * by - ax * bz + ay * bw + az * bx,
                aw * bz + ax * by - ay * bx + az * bw,
            ],
            axis=1,
        )

    n = len(frames)
    pos, rot, col = {}, {}, 8
    for j in joints:
        name = j["Name"]
        if j["Parent"] < 0:
            q = frames[:, 4:8]
            pos[name], rot[name] = frames[:, 1:4], q / np.linalg.norm(q, axis=1, keepdims=True)
            continue
        parent = joints[j["Parent"]]["Name"]
        offset = np.broadcast_to([j["AttachX"], j["AttachY"], j["AttachZ"]], (n, 3))
        pos[name] = pos[parent] + rotate(rot[parent], offset)
        if j["Type"] == "spherical":
            q = frames[:, col : col + 4] / np.linalg.norm(frames[:, col : col + 4], axis=1, keepdims=True)
            col += 4
        elif j["Type"] == "revolute":  # about the local +Z axis
            th = frames[:, col]
            q = np.stack([np.cos(th / 2), 0 * th, 0 * th, np.sin(th / 2)], axis=1)
            col += 1
        else:
            q = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
        rot[name] = mul(rot[parent], q)
    assert col == frames.shape[1]
    return pos


_DM_TO_MJ_BODY = {
    "root": "pelvis",
    "chest": "torso",
    "neck": "head",
    **{
        f"{s}_{a}": f"{s}_{b}"
        for s in ("right", "left")
        for a, b in (
            ("hip", "thigh"),
            ("knee", "shin"),
            ("ankle", "foot"),
            ("shoulder", "upper_arm"),
            ("elbow", "lower_arm"),
            ("wrist", "hand"),
        )
    },
}


@pytest.mark.parametrize("clip_name", ["walk", "run", "spinkick", "getup_faceup", "crawl"])
def test_deepmimic_conversion_matches_independent_fk(clip_name):
    """MuJoCo body positions of the converted clip equal DeepMimic's own FK mapped (x, -z, y)."""
    path = DEEPMIMIC / f"humanoid3d_{clip_name}.txt"
    clip = load_motion(path)
    frames = np.asarray(json.loads(path.read_text())["Frames"], dtype=np.float64)
    assert clip.num_frames == len(frames) and clip.robot == "humanoid"
    fk = _deepmimic_fk(frames)
    shift = np.array([frames[0, 1], -frames[0, 3], 0.0])  # DeepMimic starts clips at the origin

    robot = get_robot("humanoid")
    model, data = robot.model, mujoco.MjData(robot.model)
    foot_geoms = [model.geom(n).id for n in ("right_foot", "left_foot")]
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    worst, lowest = 0.0, []
    for i, q in enumerate(clip.qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        for dm_name, mj_name in _DM_TO_MJ_BODY.items():
            p = fk[dm_name][i]
            expected = np.array([p[0], -p[2], p[1]]) - shift
            worst = max(worst, float(np.abs(data.xpos[model.body(mj_name).id] - expected).max()))
        lowest.append(
            min(
                (data.geom_xpos[g] + (corners * model.geom_size[g]) @ data.geom_xmat[g].reshape(3, 3).T)[:, 2].min()
                for g in foot_geoms
            )
        )
    assert worst < 1e-6, f"joint positions differ by {worst} m"
    if clip_name in ("walk", "run", "spinkick"):
        assert abs(float(np.median(lowest))) < 0.03  # feet on the floor
        assert np.allclose(clip.root_pos[0, :2], 0.0)
        assert (_up_z(clip.root_quat) > 0.5).all()  # upright, z up


def test_deepmimic_hinge_signs_match_humanoid_ranges():
    """Knees flex positive (+Y axis, range [0, 2.79]); right elbow >= 0, left elbow <= 0; walk faces +X."""
    robot = get_robot("humanoid")
    names = list(robot.joint_names)
    for clip_name in ("walk", "run", "kick"):
        clip = load_motion(DEEPMIMIC / f"humanoid3d_{clip_name}.txt")
        col = {n: clip.joint_pos[:, names.index(n)] for n in ("right_knee", "left_knee", "right_elbow", "left_elbow")}
        assert (col["right_knee"] > -0.05).all() and (col["left_knee"] > -0.05).all()
        assert col["right_knee"].max() > 0.5
        assert (col["right_elbow"] > -0.05).all() and (col["left_elbow"] < 0.05).all()
    walk = load_motion(DEEPMIMIC / "humanoid3d_walk.txt")
    assert walk.root_pos[-1, 0] > 1.0 and abs(walk.root_pos[-1, 1]) < 0.2  # ~1 m/s along +X
    limits = robot.joint_limits
    inside = (walk.joint_pos >= limits[:, 0] - 1e-6) & (walk.joint_pos <= limits[:, 1] + 1e-6)
    assert inside.all(), [names[j] for j in np.where(~inside.all(0))[0]]
    jumps = np.abs(np.diff(walk.joint_pos, axis=0)).max()
    assert jumps < 0.5  # unwrapped, continuous hinge trajectories


def test_deepmimic_nonuniform_durations_are_resampled(tmp_path):
    walk = json.loads((DEEPMIMIC / "humanoid3d_walk.txt").read_text())
    frames = np.asarray(walk["Frames"][:7], dtype=np.float64)
    frames[:, 0] = [0.05, 0.05, 0.025, 0.05, 0.05, 0.05, 0.0]
    frames[:, 1] = np.arange(7) * 0.1  # root x
    path = tmp_path / "uneven.txt"
    path.write_text(json.dumps({"Loop": "none", "Frames": frames.tolist()}))
    clip = load_motion(path)
    t_old = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    t_new = np.arange(clip.num_frames) / clip.fps
    assert clip.loop == "clamp" and clip.fps == pytest.approx(20.0, rel=0.15)
    assert t_new[-1] == pytest.approx(t_old[-1])
    np.testing.assert_allclose(clip.root_pos[:, 0], np.interp(t_new, t_old, frames[:, 1]), atol=1e-12)
    assert "resampled" in clip.source
    roll = load_motion(DEEPMIMIC / "humanoid3d_roll.txt")  # the shipped clip with uneven durations
    durations = np.asarray(json.loads((DEEPMIMIC / "humanoid3d_roll.txt").read_text())["Frames"])[:-1, 0]
    assert roll.duration == pytest.approx(durations.sum())


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda d: d["Frames"][3].pop(), "Frames[3]"),
        (lambda d: d["Frames"][2].__setitem__(10, float("nan")), "Frames[2]"),
        (lambda d: d["Frames"][1].__setitem__(5, "x"), "numbers"),
        (lambda d: d.__setitem__("Loop", "bounce"), "Loop"),
        (lambda d: d.pop("Frames"), "Frames"),
        (lambda d: [d["Frames"][4].__setitem__(k, 0.0) for k in range(16, 20)], "right_hip"),
    ],
)
def test_deepmimic_bad_files(tmp_path, mutate, needle):
    doc = json.loads((DEEPMIMIC / "humanoid3d_walk.txt").read_text())
    mutate(doc)
    path = tmp_path / "bad.txt"
    path.write_text(json.dumps(doc))  # Python writes NaN as a bare NaN token, as JSON readers accept
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path)
    msg = _one_line(exc)
    assert needle in msg and str(path) in msg
    with pytest.raises(MotionFormatError):
        load_motion(DEEPMIMIC / "humanoid3d_walk.txt", "g1")  # DeepMimic clips are for the humanoid


# ------------------------------------------------------------------------------------ CSV
def test_csv_layouts_on_real_files():
    walk = load_motion(KIMODO_WALK, "g1", layout="protomotions")
    raw = np.loadtxt(KIMODO_WALK, delimiter=",")
    assert walk.fps == 30.0 and walk.num_frames == len(raw) and walk.loop == "clamp"
    np.testing.assert_allclose(np.abs((walk.root_quat * raw[:, 3:7]).sum(1)), 1.0, atol=1e-6)  # wxyz kept
    np.testing.assert_array_equal(walk.joint_pos, raw[:, 7:])
    assert (_up_z(walk.root_quat) > 0.9).all()
    assert walk.root_pos[-1, 0] - walk.root_pos[0, 0] > 4.0  # walks ~5 m forward
    flipped = load_motion(KIMODO_WALK, "g1", quat_order="xyzw", fps=30)  # the wrong order: upside down
    assert (_up_z(flipped.root_quat) < 0).mean() > 0.9

    kicks = load_motion(G1_MOVES, layout="g1_moves")  # robot from the layout
    raw = np.loadtxt(G1_MOVES, delimiter=",")
    assert kicks.robot == "g1" and kicks.fps == 60.0
    np.testing.assert_allclose(np.abs((kicks.root_quat * raw[:, [6, 3, 4, 5]]).sum(1)), 1.0, atol=1e-5)
    up = _up_z(kicks.root_quat)
    assert np.median(up) > 0.95 and up.min() > 0.5  # pelvis tilts during kicks, never flips


def test_booster_k1_csv_with_header(tmp_path):
    robot = get_robot("k1")
    q = np.repeat(robot.default_pose[None], 10, axis=0)
    yaw = np.linspace(0, 1.0, 10)
    wxyz = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], 1)
    rows = np.concatenate([q[:, :3], wxyz[:, [1, 2, 3, 0]], q[:, 7:]], axis=1)  # xyzw on disk
    path = tmp_path / "k1.csv"
    header = ",".join(["x", "y", "z", "qx", "qy", "qz", "qw", *robot.joint_names])
    path.write_text(header + "\n" + "\n".join(",".join(f"{v:.9f}" for v in r) for r in rows) + "\n")
    clip = load_motion(path, "k1", layout="booster", fps=50)
    assert clip.robot == "k1" and clip.fps == 50.0 and clip.num_frames == 10
    np.testing.assert_allclose(clip.root_quat, wxyz, atol=1e-8)
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path, "k1", layout="booster")  # Booster files differ in fps: must be given
    assert "fps" in _one_line(exc)


def _g1_csv_rows(n: int = 5) -> list[list[float]]:
    q = np.repeat(get_robot("g1").default_pose[None], n, axis=0)
    return q.tolist()


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda rows: [r[:-1] for r in rows], "35 columns"),
        (lambda rows: rows[:2] + [rows[2][:-2]] + rows[3:], "line 3"),
        (lambda rows: rows[:1] + [["oops"] + rows[1][1:]] + rows[2:], "line 2, column 1"),
        (lambda rows: rows[:3] + [rows[3][:3] + [2.0] + rows[3][4:]] + rows[4:], "norm"),
        (lambda rows: rows[:1] + [rows[1][:9] + ["nan"] + rows[1][10:]] + rows[2:], "NaN"),
    ],
)
def test_malformed_csv(tmp_path, edit, needle):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(",".join(str(v) for v in r) for r in edit(_g1_csv_rows())))
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path, "g1", layout="protomotions")
    msg = _one_line(exc)
    assert needle in msg and str(path) in msg


def test_csv_needs_layout_or_order_and_fps(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("\n".join(",".join(str(v) for v in r) for r in _g1_csv_rows()))
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path, "g1")
    assert "layout" in _one_line(exc)
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path, "k1", layout="protomotions")
    assert "'g1'" in _one_line(exc)
    assert load_motion(path, "g1", quat_order="wxyz", fps=25).fps == 25.0


# ------------------------------------------------------------------------------------ ASAP
def test_asap_pkl_real_file():
    clip = load_motion(ASAP_WALK)
    raw = joblib.load(ASAP_WALK)
    ((key, entry),) = raw.items()
    assert clip.robot == "g1" and clip.name == key and clip.fps == float(entry["fps"])
    np.testing.assert_allclose(clip.joint_pos[:, G1_23_TO_29], entry["dof"], atol=1e-6)
    wrists = [i for i, n in enumerate(get_robot("g1").joint_names) if "wrist" in n]
    assert len(wrists) == 6 and not clip.joint_pos[:, wrists].any()
    assert set(np.setdiff1d(np.arange(29), G1_23_TO_29)) == set(wrists)
    xyzw = entry["root_rot"] / np.linalg.norm(entry["root_rot"], axis=1, keepdims=True)
    np.testing.assert_allclose(np.abs((clip.root_quat * xyzw[:, [3, 0, 1, 2]]).sum(1)), 1.0, atol=1e-6)
    assert (_up_z(clip.root_quat) > 0.8).all()


def test_asap_multi_clip_file_needs_key(tmp_path):
    entry = joblib.load(ASAP_WALK)
    ((_, one),) = entry.items()
    path = tmp_path / "two.pkl"
    joblib.dump({"a": one, "b": {**one, "dof": one["dof"][:, :20]}}, path)
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path)
    assert "a, b" in _one_line(exc)
    assert load_motion(path, key="a").name == "a"
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path, key="b")
    assert "dof" in _one_line(exc)
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path, key="c")
    assert "no clip 'c'" in _one_line(exc)


# ------------------------------------------------------------------------------------ MimicKit
def test_mimickit_round_trip_g1_and_humanoid(tmp_path):
    g1 = load_motion(KIMODO_WALK, "g1", layout="protomotions")
    path = save_mimickit_pkl(g1, tmp_path / "g1_walk.pkl")
    raw = pickle.loads(path.read_bytes())
    assert set(raw) == {"loop_mode", "fps", "frames"} and isinstance(raw["frames"][0], list)
    assert len(raw["frames"][0]) == 6 + 29 and raw["loop_mode"] == 0
    back = load_motion(path, "g1")
    np.testing.assert_allclose(back.qpos, g1.qpos, atol=1e-6)

    hum = load_motion(DEEPMIMIC / "humanoid3d_spinkick.txt")
    path = save_mimickit_pkl(hum, tmp_path / "spinkick.pkl")
    assert len(pickle.loads(path.read_bytes())["frames"][0]) == 34
    back = load_motion(path)  # robot inferred from 34 values per frame
    assert back.robot == "humanoid" and back.loop == "wrap" and back.fps == hum.fps
    np.testing.assert_allclose(back.joint_pos, hum.joint_pos, atol=1e-6)
    np.testing.assert_allclose(back.root_pos, hum.root_pos, atol=1e-6)
    np.testing.assert_allclose(np.abs((back.root_quat * hum.root_quat).sum(1)), 1.0, atol=1e-9)


def test_mimickit_hand_written_file(tmp_path):
    rng = np.random.default_rng(1)
    frames = np.concatenate([rng.normal(size=(4, 3)), rng.normal(0, 0.3, size=(4, 3)), rng.normal(0, 0.2, (4, 29))], 1)
    path = tmp_path / "mk.pkl"
    path.write_bytes(pickle.dumps({"loop_mode": 1, "fps": 30, "frames": frames.tolist()}))
    clip = load_motion(path, "g1")
    np.testing.assert_array_equal(clip.joint_pos, frames[:, 6:])
    assert clip.loop == "wrap"
    angle = np.linalg.norm(frames[:, 3:6], axis=1)
    np.testing.assert_allclose(np.abs(clip.root_quat[:, 0]), np.abs(np.cos(angle / 2)), atol=1e-12)
    path.write_bytes(pickle.dumps({"loop_mode": 1, "fps": 30, "frames": frames[:, :-1].tolist()}))
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path, "g1")
    assert "34 values per frame" in _one_line(exc)


# ------------------------------------------------------------------------------------ GMR
def test_gmr_pkl_hand_written(tmp_path):
    robot = get_robot("g1")
    n = 6
    yaw = np.linspace(0.0, 0.5, n)
    gmr = {
        "fps": 30,
        "root_pos": np.stack([np.linspace(0, 0.3, n), np.zeros(n), np.full(n, 0.78)], 1),
        "root_rot": np.stack([0 * yaw, 0 * yaw, np.sin(yaw / 2), np.cos(yaw / 2)], 1),  # xyzw
        "dof_pos": np.tile(robot.default_pose[7:], (n, 1)).astype(np.float32),
        "local_body_pos": None,
        "link_body_list": None,
        "foot_ground_contact_flags": np.ones((n, 2), dtype=bool),  # extra key of a fork: ignored
    }
    path = tmp_path / "gmr.pkl"
    path.write_bytes(pickle.dumps(gmr))
    clip = load_motion(path)  # robot inferred from 29 dofs
    assert clip.robot == "g1" and clip.fps == 30.0 and clip.num_frames == n
    np.testing.assert_allclose(clip.root_quat[:, [0, 3]], np.stack([np.cos(yaw / 2), np.sin(yaw / 2)], 1), atol=1e-12)
    np.testing.assert_allclose(clip.joint_pos, gmr["dof_pos"], atol=1e-7)
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path, "k1")
    assert "22" in _one_line(exc) and "dof_pos" in str(exc.value)
    path.write_bytes(pickle.dumps({"something": 1}))
    with pytest.raises(MotionFormatError) as exc:
        load_motion(path)
    assert "not an ASAP, MimicKit or GMR" in _one_line(exc)


# ------------------------------------------------------------------------------------ dispatch & npz
def test_dispatch_errors(tmp_path):
    with pytest.raises(MotionFormatError) as exc:
        load_motion(tmp_path / "nothing.csv", "g1")
    assert _one_line(exc).startswith("motion file not found")
    odd = tmp_path / "clip.bvh2"
    odd.write_text("x")
    with pytest.raises(MotionFormatError) as exc:
        load_motion(odd)
    msg = _one_line(exc)
    assert "'.bvh2'" in msg and ".npz" in msg and ".csv" in msg and ".pkl" in msg
    with pytest.raises(MotionFormatError) as exc:
        load_motion(KIMODO_WALK, "g1", layout="protomotions", key="x")
    assert "option 'key'" in _one_line(exc)
    with pytest.raises(MotionFormatError) as exc:
        load_motion(KIMODO_WALK, format="bvh")
    assert "unknown motion format" in _one_line(exc)
    with pytest.raises(MotionFormatError) as exc:
        load_motion(ASAP_WALK, format="gmr")
    assert "asap" in _one_line(exc)


def test_bad_npz_files(tmp_path, g1_clip):
    good = g1_clip.save(tmp_path / "good.npz")
    assert load_motion(good).robot == "g1"
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:300])
    nan = g1_clip.slice()
    nan.joint_pos[4, 3] = np.nan
    np.savez(tmp_path / "nan.npz", fps=30.0, root_pos=nan.root_pos, root_quat=nan.root_quat, joint_pos=nan.joint_pos)
    np.savez(
        tmp_path / "short.npz",
        fps=30.0,
        root_pos=nan.root_pos,
        root_quat=nan.root_quat,
        joint_pos=g1_clip.joint_pos[:, :23],
    )
    for path, robot, needle in [
        (cut, None, "cut.npz"),
        (tmp_path / "nan.npz", None, "joint_pos"),
        (tmp_path / "short.npz", "g1", "joint_pos"),
    ]:
        with pytest.raises(MotionFormatError) as exc:
            load_motion(path, robot)
        msg = _one_line(exc)
        assert needle in msg and str(path.name) in msg


# ------------------------------------------------------------------------------------ convert
def _convert(*argv: str) -> int:
    from mimic_lit.commands import convert

    parser = argparse.ArgumentParser()
    convert.add_arguments(parser)
    return convert.run(parser.parse_args(list(argv)))


def test_convert_command(tmp_path, capsys):
    out = tmp_path / "walk.npz"
    assert (
        _convert(
            "--in", str(KIMODO_WALK), "--robot", "g1", "--layout", "protomotions", "--loop", "wrap", "--out", str(out)
        )
        == 0
    )
    assert "150 frames" in capsys.readouterr().out
    clip = MotionClip.load(out, get_robot("g1"))
    assert clip.loop == "wrap" and clip.num_frames == 150

    before, mtime = out.read_bytes(), out.stat().st_mtime_ns
    with pytest.raises(MimicLitError) as exc:  # exists, no --overwrite
        _convert("--in", str(DEEPMIMIC / "humanoid3d_run.txt"), "--out", str(out))
    assert "--overwrite" in _one_line(exc)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(MimicLitError) as exc:  # bad input even with --overwrite: output untouched
        _convert("--in", str(bad), "--robot", "g1", "--layout", "g1_moves", "--out", str(out), "--overwrite")
    assert "3 columns" in _one_line(exc)
    assert out.read_bytes() == before and out.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "walk.npz"]  # no partial files

    assert _convert("--in", str(DEEPMIMIC / "humanoid3d_run.txt"), "--out", str(out), "--overwrite") == 0
    assert MotionClip.load(out).robot == "humanoid"
    with pytest.raises(MimicLitError):
        _convert(
            "--in", str(KIMODO_WALK), "--robot", "g1", "--layout", "protomotions", "--out", str(tmp_path / "x.csv")
        )
    assert not (tmp_path / "x.csv").exists()


def test_convert_choices_match_formats():
    from mimic_lit.commands import convert
    from mimic_lit.motion.formats.csv_g1 import LAYOUTS

    assert set(convert._FORMAT_CHOICES) == {"auto", *FORMATS}
    assert set(convert._LAYOUT_CHOICES) == set(LAYOUTS)
    assert os.path.basename(convert.__file__) == "convert.py"


# ------------------------------------------------------------------------------------ both ways
@pytest.mark.parametrize("robot,name", [("g1", "deepmimic_walk"), ("k1", "deepmimic_kick"), ("humanoid", "spinkick")])
def test_our_clip_to_mimickit_and_gmr_pickles_and_back_is_exact(tmp_path, robot, name):
    from mimic_lit.cli import main
    from mimic_lit.motion.clip import MotionClip
    from mimic_lit.motion.shipped import shipped_clip

    ours = MotionClip.load(shipped_clip(robot, name))
    mk, gmr = tmp_path / "clip_mk.pkl", tmp_path / "clip_gmr.pkl"
    assert main(["convert", "--in", f"{robot}/{name}", "--to", "mimickit", "--out", str(mk)]) == 0
    back = load_motion(mk, robot)
    np.testing.assert_allclose(back.root_pos, ours.root_pos, atol=1e-6)
    np.testing.assert_allclose(back.joint_pos, ours.joint_pos, atol=1e-6)
    same_rot = np.abs((back.root_quat * ours.root_quat).sum(1))  # q and -q are one rotation
    np.testing.assert_allclose(same_rot, 1.0, atol=1e-9)
    assert back.fps == ours.fps and back.loop == ours.loop
    if robot == "humanoid":
        return  # GMR has no DeepMimic humanoid
    assert main(["convert", "--in", f"{robot}/{name}", "--to", "gmr", "--out", str(gmr)]) == 0
    raw = pickle.loads(gmr.read_bytes())
    assert set(raw) >= {"fps", "root_pos", "root_rot", "dof_pos"} and raw["robot"] in ("unitree_g1", "booster_k1")
    np.testing.assert_allclose(raw["root_rot"][:, 3], ours.root_quat[:, 0])  # x y z w on disk
    back = load_motion(gmr)  # the robot comes from the file
    assert back.robot == robot
    np.testing.assert_allclose(back.qpos, ours.qpos, atol=1e-12)
    assert main(["convert", "--in", f"{robot}/{name}", "--to", "gmr", "--out", str(tmp_path / "x.npz")]) == 2  # suffix
