"""Screenshot a local HTML file, or dump its rendered DOM, with headless Chromium.

Chromium runs with a fresh profile and with background networking, component updates, sync
and QUIC off, so it makes no requests of its own. The page must reference local files only.

    python scripts/screenshot.py page.html out.png --height 1600
    python scripts/screenshot.py page.html --dump-dom > dom.html
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
WIDTH = 1400
# Seconds before Chromium is killed as hung. The demo report renders in about 1 s.
TIMEOUT = 90
# Milliseconds of virtual time Chromium grants the page's scripts before it captures.
VIRTUAL_TIME_BUDGET = 5000

_QUIET_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


class ChromiumError(RuntimeError):
    """Chromium failed or timed out; the message contains its exit status and stderr."""


def chromium_path() -> str | None:
    """Return the Chromium binary, or None when it is not installed."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


def _run(arguments: list[str], page: Path) -> subprocess.CompletedProcess[str]:
    binary = chromium_path()
    if binary is None:
        raise ChromiumError(
            f"{CHROMIUM} not found; install Debian's chromium package (apt-get install chromium)"
        )
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [
            binary,
            *_QUIET_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET}",
            *arguments,
            page.resolve().as_uri(),
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise ChromiumError(f"Chromium timed out after {TIMEOUT} s on {page}") from None
    if result.returncode != 0:
        raise ChromiumError(
            f"Chromium exited with status {result.returncode} on {page}: {result.stderr[-2000:]}"
        )
    return result


def screenshot(page: Path, output: Path, *, height: int, width: int = WIDTH) -> Path:
    """Write a PNG of `page` rendered in a `width` x `height` window to `output`."""
    output = output.resolve()
    output.unlink(missing_ok=True)
    _run([f"--screenshot={output}", f"--window-size={width},{height}"], page)
    if not output.exists() or output.stat().st_size == 0:
        raise ChromiumError(f"Chromium wrote no screenshot of {page} to {output}")
    return output


def dump_dom(page: Path, *, width: int = WIDTH, height: int = 1000) -> str:
    """Return the DOM of `page` serialised after its scripts ran."""
    return _run(["--dump-dom", f"--window-size={width},{height}"], page).stdout


def png_size(path: Path) -> tuple[int, int]:
    """Return (width, height) read from a PNG file's IHDR chunk."""
    header = path.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG file")
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot a local HTML file with Chromium.")
    parser.add_argument("page", type=Path, help="local HTML file")
    parser.add_argument("output", type=Path, nargs="?", help="PNG file to write")
    parser.add_argument("--height", type=int, default=1000, help="window height in pixels")
    parser.add_argument("--width", type=int, default=WIDTH, help="window width in pixels")
    parser.add_argument("--dump-dom", action="store_true", help="print the rendered DOM instead")
    args = parser.parse_args(argv)
    try:
        if args.dump_dom:
            sys.stdout.write(dump_dom(args.page, width=args.width, height=args.height))
        elif args.output is None:
            parser.error("give an output PNG file, or --dump-dom")
        else:
            screenshot(args.page, args.output, height=args.height, width=args.width)
    except ChromiumError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
