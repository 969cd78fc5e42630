"""Pick an offscreen OpenGL backend for MuJoCo's renderer before anything needs it.

MuJoCo chooses its OpenGL backend once, when ``mujoco`` is first imported, from the ``MUJOCO_GL``
environment variable; without it Linux gets GLFW, which needs a display and fails on servers. A
broken choice cannot be undone inside the process (PyOpenGL fixes its platform on first import, and a
missing OSMesa library even makes ``import mujoco`` itself fail). So:

1. a user's ``MUJOCO_GL`` is respected as it is;
2. otherwise each candidate (``egl``, then ``osmesa``) is tried in a short-lived child process, and
   the first that renders a frame is written to ``os.environ["MUJOCO_GL"]`` for this process;
3. if ``mujoco`` was already imported with no ``MUJOCO_GL`` (a notebook, a test session), the chosen
   backend's context class is installed into MuJoCo's classic renderer so ``mujoco.Renderer`` uses it.

Every failure ends in a :class:`RenderBackendError` with one line saying what to install or set.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

from mimic_lit.errors import MimicLitError

CANDIDATES: tuple[str, ...] = ("egl", "osmesa")
_PROBE_TIMEOUT_S = 60.0
_chosen: str | None = None

# Renders one frame of a one-geom model; exit code 0 means the backend works.
_PROBE = (
    "import mujoco\n"
    "m = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom size=\".1\"/></worldbody></mujoco>')\n"
    "r = mujoco.Renderer(m, 8, 8)\n"
    "r.update_scene(mujoco.MjData(m))\n"
    "r.render()\n"
)


class RenderBackendError(MimicLitError):
    """No offscreen OpenGL backend works (missing system libraries or a bad ``MUJOCO_GL``)."""


def _install_hint() -> str:
    return (
        "install Mesa's offscreen libraries (Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 "
        "libgl1-mesa-dri libosmesa6) or set MUJOCO_GL to a backend that works here"
    )


def probe_backend(backend: str) -> str | None:
    """Try ``backend`` in a child process; ``None`` if it renders, else a one-line reason."""
    env = dict(os.environ, MUJOCO_GL=backend)
    env.pop("PYOPENGL_PLATFORM", None)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, check=False, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if proc.returncode == 0:
        return None
    lines = [ln.strip() for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {proc.returncode}"


def _install_into_loaded_mujoco(backend: str) -> None:
    """Point an already imported MuJoCo's renderer at ``backend``'s GL context class."""
    try:
        module = importlib.import_module(f"mujoco.{backend}")
        from mujoco.rendering.classic import gl_context
    except Exception as exc:  # noqa: BLE001 - any failure here means the backend is unusable
        raise RenderBackendError(
            f"mujoco was imported before MUJOCO_GL was set and the '{backend}' backend cannot be loaded "
            f"afterwards ({type(exc).__name__}: {exc}); set MUJOCO_GL={backend} before importing mujoco"
        ) from None
    gl_context.GLContext = module.GLContext


def ensure_gl_backend() -> str:
    """Make sure ``mujoco.Renderer`` can render offscreen here; return the backend's name.

    Call it before the first ``import mujoco`` when you can (the CLI does): then nothing is patched.
    Cheap after the first call.
    """
    global _chosen
    if _chosen is not None:
        return _chosen
    user = os.environ.get("MUJOCO_GL", "").strip().lower()
    if user:
        if "mujoco" not in sys.modules:
            try:
                import mujoco  # noqa: F401  (fails here if the user's backend cannot load)
            except Exception as exc:  # noqa: BLE001
                raise RenderBackendError(
                    f"MUJOCO_GL={user} is set but MuJoCo cannot load that backend "
                    f"({type(exc).__name__}: {exc}); {_install_hint()}"
                ) from None
        _chosen = user
        return user

    reasons = []
    for backend in CANDIDATES:
        reason = probe_backend(backend)
        if reason is None:
            os.environ["MUJOCO_GL"] = backend
            if "mujoco" in sys.modules:
                _install_into_loaded_mujoco(backend)
            _chosen = backend
            return backend
        reasons.append(f"{backend}: {reason}")
    raise RenderBackendError(f"no offscreen OpenGL backend works ({'; '.join(reasons)}); {_install_hint()}")
