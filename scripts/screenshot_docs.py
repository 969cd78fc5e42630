"""Screenshots of the built docs site with headless Chromium: the home page and a tutorial page.

Serves the built site (``mkdocs build`` output, default ``site/``) on a free localhost port and
asks Chromium for a PNG of each page. Needs Debian's ``chromium`` (``apt-get install chromium``)
or ``--chromium PATH``.

    python scripts/run_notebooks.py && mkdocs build --strict && python scripts/screenshot_docs.py
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: file name -> (page, window height): the tutorial page is tall so its first figures are in view
PAGES = {
    "site_home.png": ("", 900),
    "site_notebook.png": ("notebooks/01_motion_data/", 2600),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--site", default=str(ROOT / "site"), help="built site folder")
    p.add_argument("--out", default=str(ROOT / "docs" / "assets" / "screenshots"), help="folder for the PNGs")
    p.add_argument("--chromium", default=None, help="Chromium executable (default: chromium on PATH)")
    p.add_argument("--width", type=int, default=1280, help="window width")
    return p.parse_args()


def screenshot(chromium: str, url: str, out: Path, size: str) -> None:
    """One PNG of ``url``; flags keep Chromium off the network and out of any user profile."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={size}",
             "--virtual-time-budget=8000", f"--screenshot={out}", url],
            check=True, capture_output=True, timeout=120,
        )


def main() -> int:
    args = parse_args()
    site, out = Path(args.site), Path(args.out)
    if not (site / "index.html").is_file():
        print(f"no built site in {site}: run mkdocs build first", file=sys.stderr)
        return 1
    chromium = args.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Chromium not found: apt-get install chromium, or pass --chromium", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for name, (page, height) in PAGES.items():
            url = f"http://127.0.0.1:{server.server_address[1]}/{page}"
            screenshot(chromium, url, out / name, f"{args.width},{height}")
            print(f"{url} -> {out / name}")
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
