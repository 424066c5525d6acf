"""Regenerate the tray icons and chimes in `assets/` (run after changing tray_client/ui/tray/icons.py or sounds.py).

    python scripts/make_assets.py            # writes assets/icons/*.png|*.ico, assets/sounds/*.wav
    python scripts/make_assets.py --check    # exit 1 if the committed assets differ from a fresh drawing

Each state gets a 64x64 PNG (what the tray loads), a 16x16 PNG (to eyeball the smallest size) and a
multi-size ICO (16..256, for Windows shortcuts). `assets/icons/preview.png` shows every state at 16 and 32 px
on a light and a dark strip, which is how the "readable on any taskbar" requirement is checked by eye.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

from tray_client.events import ClientState
from tray_client.ui.tray.icons import ICON_SIZES, draw_state_icon, icon_path
from tray_client.ui.tray.sounds import SOUND_NAMES, render_chime, sound_path

REPO_ROOT = Path(__file__).resolve().parent.parent

LIGHT = (243, 243, 243, 255)  # Windows 11 light taskbar
DARK = (32, 32, 32, 255)  # Windows 11 dark taskbar


def build_assets() -> dict[Path, bytes]:
    """Every asset file and its bytes, keyed by its path under the repository."""
    files: dict[Path, bytes] = {}
    base = REPO_ROOT / "assets"
    for state in ClientState:
        files[icon_path(state, "png", base)] = _png(draw_state_icon(state, 64))
        files[icon_path(state, "png", base).with_name(f"{state.value}-16.png")] = _png(draw_state_icon(state, 16))
        ico = io.BytesIO()
        largest = draw_state_icon(state, max(ICON_SIZES))
        # Each size is drawn on its own (not downscaled from 256), so the 16-px frame keeps its crisp strokes.
        exact = [draw_state_icon(state, size) for size in ICON_SIZES if size != max(ICON_SIZES)]
        largest.save(ico, format="ICO", sizes=[(size, size) for size in ICON_SIZES], append_images=exact)
        files[icon_path(state, "ico", base)] = ico.getvalue()
    files[base / "icons" / "preview.png"] = _png(preview())
    for name in SOUND_NAMES:
        files[sound_path(name, base)] = render_chime(name)
    return files


def preview() -> Image.Image:
    """All states at 16 and 32 px, on a light strip above a dark strip."""
    states = list(ClientState)
    cell = 40
    image = Image.new("RGBA", (cell * len(states) * 2, cell * 2), LIGHT)
    image.paste(Image.new("RGBA", (image.width, cell), DARK), (0, cell))
    for row in range(2):
        for index, state in enumerate(states):
            for column, size in enumerate((16, 32)):
                icon = draw_state_icon(state, size)
                x = (index * 2 + column) * cell + (cell - size) // 2
                y = row * cell + (cell - size) // 2
                image.alpha_composite(icon, (x, y))
    return image


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    files = build_assets()
    if args.check:
        stale = [path for path, data in files.items() if not path.is_file() or path.read_bytes() != data]
        for path in stale:
            print(f"stale: {path.relative_to(REPO_ROOT)}")
        return 1 if stale else 0
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(REPO_ROOT)} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
