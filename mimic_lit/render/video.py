"""Write RGB frames to MP4 (imageio-ffmpeg, H.264) or GIF (Pillow), atomically.

Outputs are written to a temporary file beside the target and moved into place only when complete
(:func:`mimic_lit.fileio.atomic_output`), so an interrupted render (Ctrl-C, ``SIGTERM``) never
leaves a truncated video or a temporary file and never destroys an existing one.

GIFs use one palette for all frames, computed from a few frames spread over the clip: a shared
palette avoids flicker between frames, and with dithering off the large flat areas (floor, sky)
compress well, which keeps a 5 s docs GIF around 1-2 MB.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from mimic_lit.errors import MimicLitError
from mimic_lit.fileio import atomic_output, check_output

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".gif")


def check_output_path(path: str | os.PathLike, *, overwrite: bool) -> Path:
    """Validate a video path before any work: known suffix, no silent overwrite, not a folder
    (missing folders are created when the video is written; see :mod:`mimic_lit.fileio`)."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise MimicLitError(f"--out must end in {' or '.join(VIDEO_SUFFIXES)}, got '{path}'")
    return check_output(path, overwrite=overwrite)


def write_mp4(frames: Iterable[np.ndarray], path: Path, fps: float, *, quality: float = 7.0) -> int:
    """Encode (H, W, 3) uint8 frames with H.264 (yuv420p, so W and H must be even). Returns the count."""
    import imageio_ffmpeg

    writer = None
    count = 0
    try:
        for frame in frames:
            if writer is None:
                h, w = frame.shape[:2]
                writer = imageio_ffmpeg.write_frames(
                    str(path), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=quality,
                    macro_block_size=1, ffmpeg_log_level="error",
                )
                writer.send(None)  # start the generator
            writer.send(np.ascontiguousarray(frame))
            count += 1
    finally:
        if writer is not None:
            writer.close()
    return count


def gif_palette(samples: list[np.ndarray], colors: int = 128):
    """A Pillow palette image built from sample frames (stacked), for :func:`write_gif`."""
    from PIL import Image

    mosaic = np.concatenate([np.asarray(s, dtype=np.uint8) for s in samples], axis=0)
    return Image.fromarray(mosaic).quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def write_gif(frames: Iterable[np.ndarray], path: Path, fps: float, palette) -> int:
    """Write frames as a looping GIF mapped onto ``palette`` (see :func:`gif_palette`). Returns the count."""
    from PIL import Image

    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    if not images:
        raise MimicLitError("no frames to write")
    duration_ms = max(20, round(1000.0 / fps))  # browsers clamp delays under 20 ms
    images[0].save(
        path, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0, optimize=False
    )
    return len(images)


GIF_PALETTE_SAMPLES = 12


def write_video(
    frame_at: Callable[[int], np.ndarray],
    count: int,
    path: Path,
    fps: float,
    *,
    gif_colors: int = 128,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write frames ``frame_at(0) .. frame_at(count - 1)`` atomically to ``path`` (MP4 or GIF by suffix).

    GIFs share one palette computed from a dozen frames spread over the video. ``progress(done, total)``
    is called per written frame. Returns the number of frames written.
    """

    def frames() -> Iterator[np.ndarray]:
        for i in range(count):
            if progress is not None:
                progress(i + 1, count)
            yield frame_at(i)

    with atomic_output(path) as tmp:
        if path.suffix.lower() == ".mp4":
            return write_mp4(frames(), tmp, fps)
        picks = np.unique(np.linspace(0, count - 1, min(count, GIF_PALETTE_SAMPLES)).astype(int))
        palette = gif_palette([frame_at(int(i)) for i in picks], colors=gif_colors)
        return write_gif(frames(), tmp, fps, palette)
