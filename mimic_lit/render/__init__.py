"""Offscreen rendering of clips on robots (MuJoCo renderer, EGL or OSMesa, no display needed).

- :mod:`mimic_lit.render.gl`: picks a working offscreen OpenGL backend (``ensure_gl_backend``).
- :mod:`mimic_lit.render.playback`: resamples a clip at the output frame rate (numpy slerp/lerp).
- :mod:`mimic_lit.render.camera`: smooth tracking and fixed camera paths.
- :mod:`mimic_lit.render.renderer`: ``MotionRenderer`` (one pose -> image) and ``render_clip``
  (clip -> MP4/GIF).
- :mod:`mimic_lit.render.arrows`: a goal's arrows (a velocity command) in the scene, and their colour key.
- :mod:`mimic_lit.render.strip`: several poses side by side in one image (``filmstrip``).
- :mod:`mimic_lit.render.video`: atomic MP4 (imageio-ffmpeg) and GIF (Pillow) writers.

Names are imported lazily so ``import mimic_lit.render`` stays cheap and never imports ``mujoco``
before the GL backend is chosen.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "MotionRenderer": "mimic_lit.render.renderer",
    "RenderResult": "mimic_lit.render.renderer",
    "render_clip": "mimic_lit.render.renderer",
    "ensure_gl_backend": "mimic_lit.render.gl",
    "filmstrip": "mimic_lit.render.strip",
    "qpos_filmstrip": "mimic_lit.render.strip",
    "RenderBackendError": "mimic_lit.render.gl",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mimic_lit.render' has no attribute {name!r}")
