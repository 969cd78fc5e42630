"""`MotionClip`: one reference motion on one robot, and its safe `.npz` file format.

A clip is a sequence of frames sampled at a fixed rate. Each frame is the robot's MuJoCo ``qpos``:
root position (x, y, z; z up, metres), root quaternion (w, x, y, z) and the joint coordinates in the
order the robot's MJCF defines them (one value per hinge, four per ball joint).
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from mimic_lit.errors import MotionFormatError
from mimic_lit.fileio import atomic_output

if TYPE_CHECKING:
    from mimic_lit.robots.spec import RobotSpec

LoopMode = Literal["wrap", "clamp"]
LOOP_MODES: tuple[str, ...] = ("wrap", "clamp")
FORMAT_VERSION = 1
_QUAT_TOL = 1e-3  # |‖q‖ - 1| above this is an error, below it the quaternion is renormalised


@dataclass
class MotionClip:
    """A reference motion: ``num_frames`` poses of one robot sampled at ``fps``.

    Attributes:
        fps: frames per second (> 0).
        root_pos: (T, 3) root position in the world, z up, metres.
        root_quat: (T, 4) root orientation as unit quaternions (w, x, y, z).
        joint_pos: (T, D) joint coordinates in the robot's MJCF ``qpos`` order (D = nq - 7).
        loop: ``"wrap"`` for cyclic clips (walk cycles) or ``"clamp"`` to hold the last frame.
        robot: name of the robot the clip is for (``g1``, ``k1``, ``t1``, ``humanoid``).
        name: short human-readable name.
        source: where the clip came from (file and importer), kept for provenance.
    """

    fps: float
    root_pos: np.ndarray
    root_quat: np.ndarray
    joint_pos: np.ndarray
    loop: LoopMode = "clamp"
    robot: str = ""
    name: str = ""
    source: str = ""
    joint_names: tuple[str, ...] = field(default_factory=tuple)

    # ----------------------------------------------------------------- properties
    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def num_dofs(self) -> int:
        """Number of joint coordinates per frame (columns of ``joint_pos``)."""
        return int(self.joint_pos.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds, ``(num_frames - 1) / fps``."""
        return (self.num_frames - 1) / float(self.fps)

    @property
    def qpos(self) -> np.ndarray:
        """(T, 7 + D) frames laid out as MuJoCo's ``qpos`` for a floating-base robot."""
        return np.concatenate([self.root_pos, self.root_quat, self.joint_pos], axis=1)

    @classmethod
    def from_qpos(cls, qpos: np.ndarray, fps: float, **kwargs) -> "MotionClip":
        """Build a clip from (T, 7 + D) MuJoCo ``qpos`` rows."""
        qpos = np.asarray(qpos, dtype=np.float64)
        if qpos.ndim != 2 or qpos.shape[1] < 7:
            raise MotionFormatError(f"qpos must have shape (frames, 7 + dofs), got {qpos.shape}")
        return cls(fps=fps, root_pos=qpos[:, :3], root_quat=qpos[:, 3:7], joint_pos=qpos[:, 7:], **kwargs)

    # ----------------------------------------------------------------- validation
    def validate(self, robot: "RobotSpec | None" = None, *, where: str = "") -> "MotionClip":
        """Check every field; raise :class:`MotionFormatError` naming the first bad one.

        Quaternions off unit norm by less than 1e-3 are renormalised in place (float noise in files);
        anything worse is rejected. When ``robot`` is given the joint count (and names, if the clip
        carries them) must match it. Returns ``self`` so calls can be chained.
        """
        at = f"{where}: " if where else ""
        try:
            fps = float(self.fps)
        except (TypeError, ValueError):
            raise MotionFormatError(f"{at}field 'fps' must be a number, got {self.fps!r}") from None
        if not np.isfinite(fps) or fps <= 0:
            raise MotionFormatError(f"{at}field 'fps' must be a finite number > 0, got {self.fps!r}")
        self.fps = fps
        if self.loop not in LOOP_MODES:
            raise MotionFormatError(f"{at}field 'loop' must be one of {LOOP_MODES}, got {self.loop!r}")

        self.root_pos = _as_2d(self.root_pos, "root_pos", 3, at)
        self.root_quat = _as_2d(self.root_quat, "root_quat", 4, at)
        self.joint_pos = _as_2d(self.joint_pos, "joint_pos", None, at)
        n = self.root_pos.shape[0]
        if n < 1:
            raise MotionFormatError(f"{at}field 'root_pos' has no frames")
        for name in ("root_quat", "joint_pos"):
            if getattr(self, name).shape[0] != n:
                raise MotionFormatError(
                    f"{at}field '{name}' has {getattr(self, name).shape[0]} frames but 'root_pos' has {n}"
                )
        for name in ("root_pos", "root_quat", "joint_pos"):
            arr = getattr(self, name)
            bad = ~np.isfinite(arr)
            if bad.any():
                frame = int(np.argwhere(bad)[0][0])
                raise MotionFormatError(f"{at}field '{name}' has NaN or inf values (first at frame {frame})")
        norms = np.linalg.norm(self.root_quat, axis=1)
        off = np.abs(norms - 1.0)
        if (off > _QUAT_TOL).any():
            frame = int(np.argmax(off > _QUAT_TOL))
            raise MotionFormatError(
                f"{at}field 'root_quat' is not a unit quaternion at frame {frame} (norm {norms[frame]:.4f});"
                " expected (w, x, y, z) with norm 1"
            )
        self.root_quat = self.root_quat / norms[:, None]
        if self.joint_names and len(self.joint_names) > self.num_dofs:
            raise MotionFormatError(
                f"{at}field 'joint_names' lists {len(self.joint_names)} joints but 'joint_pos' has "
                f"{self.num_dofs} columns"
            )
        if robot is not None:
            self._check_robot(robot, at)
        return self

    def _check_robot(self, robot: "RobotSpec", at: str) -> None:
        expected = robot.num_joint_coords
        if self.num_dofs != expected:
            raise MotionFormatError(
                f"{at}field 'joint_pos' has {self.num_dofs} joint values per frame but robot "
                f"'{robot.name}' has {expected}"
            )
        if self.robot and self.robot != robot.name:
            raise MotionFormatError(f"{at}field 'robot' is '{self.robot}' but the clip is used with '{robot.name}'")
        if self.joint_names and tuple(self.joint_names) != tuple(robot.joint_names):
            mismatch = next(
                (i for i, (a, b) in enumerate(zip(self.joint_names, robot.joint_names)) if a != b),
                min(len(self.joint_names), len(robot.joint_names)),
            )
            raise MotionFormatError(
                f"{at}field 'joint_names' does not match robot '{robot.name}' (first difference at joint "
                f"{mismatch})"
            )

    # ----------------------------------------------------------------- editing
    def slice(self, start: int = 0, stop: int | None = None) -> "MotionClip":
        """Frames ``[start, stop)`` as a new clip."""
        sl = np.s_[start:stop]
        return replace(
            self, root_pos=self.root_pos[sl].copy(), root_quat=self.root_quat[sl].copy(), joint_pos=self.joint_pos[sl].copy()
        )

    # ----------------------------------------------------------------- file IO
    def save(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Write the clip to ``path`` (``.npz``) atomically: the file is either complete or untouched."""
        path = Path(path)
        if path.suffix != ".npz":
            raise MotionFormatError(f"clip files must end in .npz, got '{path}'")
        if path.exists() and not overwrite:
            raise MotionFormatError(f"'{path}' exists; pass overwrite=True (or --overwrite) to replace it")
        self.validate(where=str(path))
        with atomic_output(path) as tmp:
            _write_npz(
                str(tmp),
                format_version=np.int64(FORMAT_VERSION),
                fps=np.float64(self.fps),
                loop=np.str_(self.loop),
                robot=np.str_(self.robot),
                name=np.str_(self.name),
                source=np.str_(self.source),
                joint_names=np.array(self.joint_names, dtype=np.str_),
                root_pos=self.root_pos.astype(np.float64),
                root_quat=self.root_quat.astype(np.float64),
                joint_pos=self.joint_pos.astype(np.float64),
            )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, robot: "RobotSpec | None" = None) -> "MotionClip":
        """Read and validate a clip written by :meth:`save`. Never unpickles anything."""
        path = Path(path)
        if not path.is_file():
            raise MotionFormatError(f"motion file not found: '{path}'")
        fields = read_npz(path)
        for key in ("fps", "root_pos", "root_quat", "joint_pos"):
            if key not in fields:
                raise MotionFormatError(f"'{path}': missing field '{key}'")
        version = int(fields.get("format_version", FORMAT_VERSION))
        if version > FORMAT_VERSION:
            raise MotionFormatError(f"'{path}': clip format version {version} is newer than this mimic-lit reads")
        clip = cls(
            fps=_scalar(fields["fps"], "fps", path),
            root_pos=fields["root_pos"],
            root_quat=fields["root_quat"],
            joint_pos=fields["joint_pos"],
            loop=str(fields.get("loop", "clamp")),  # type: ignore[arg-type]
            robot=str(fields.get("robot", "")),
            name=str(fields.get("name", path.stem)) or path.stem,
            source=str(fields.get("source", "")),
            joint_names=tuple(str(s) for s in np.atleast_1d(fields.get("joint_names", np.array([], dtype=np.str_)))),
        )
        return clip.validate(robot, where=str(path))


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of the ``.npz`` file ``path``, read without ever unpickling anything.

    Anything that is not a complete zip archive of plain arrays (a text file, random bytes, a
    truncated download, an archive holding Python objects) raises one :class:`MotionFormatError`
    ``'<path>' is not a valid .npz clip (<why>)``; numpy's own advice to load such files with
    pickles allowed is never passed on, as that would run code from the file.
    """

    def invalid(why: str) -> MotionFormatError:
        return MotionFormatError(f"'{path}' is not a valid .npz clip ({why})")

    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise invalid(f"cannot read it: {exc.strerror or exc}") from None
    if magic != b"PK\x03\x04":  # every .npz is a zip archive; np.load would try pickle.load on anything else
        raise invalid("not a zip archive of arrays")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object arrays" in str(exc).lower():
            raise invalid("it holds Python objects, which mimic-lit never loads") from None
        raise invalid(f"malformed array: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, NotImplementedError) as exc:
        raise invalid(f"damaged or truncated archive: {exc}") from None
    except OSError as exc:
        raise invalid(f"cannot read it: {exc.strerror or exc}") from None


def _write_npz(path: str, **arrays: np.ndarray) -> None:
    """Write an ``.npz`` that ``np.load`` reads, byte-identical for identical clips.

    ``np.savez`` stamps the current time into the zip entries; a fixed timestamp keeps rebuilt data
    files reproducible (no spurious diffs in version control).
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, np.asanyarray(value), allow_pickle=False)


def _scalar(value: np.ndarray, name: str, path: Path) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise MotionFormatError(f"'{path}': field '{name}' must be a single number, got shape {arr.shape}")
    try:
        return float(arr.reshape(()))
    except (TypeError, ValueError):
        raise MotionFormatError(f"'{path}': field '{name}' must be a number, got {arr!r}") from None


def _as_2d(value: object, name: str, cols: int | None, at: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionFormatError(f"{at}field '{name}' must be a numeric array") from None
    if arr.ndim != 2 or (cols is not None and arr.shape[1] != cols):
        want = f"(frames, {cols})" if cols is not None else "(frames, dofs)"
        raise MotionFormatError(f"{at}field '{name}' must have shape {want}, got {arr.shape}")
    return arr
