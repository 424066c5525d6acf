"""Tray icons, one per client state, drawn with Pillow so they can be regenerated and never go stale.

Why drawn, not hand-made: every state must read at 16x16 on light *and* dark taskbars. Each icon is a
coloured disc (or, for errors, a triangle) with a white glyph, a 1-px dark outline and a white halo, so the
shape stands out on any background; the colour and the glyph both differ between states, so no state relies on
colour alone. `scripts/make_assets.py` writes these drawings to `assets/icons/` as PNG and multi-size ICO; at run
time `load_state_icon` reads the PNG and falls back to drawing when the assets are not installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw

from tray_client.events import ClientState

__all__ = [
    "ICON_SIZES",
    "STATE_STYLES",
    "IconStyle",
    "assets_dir",
    "draw_state_icon",
    "icon_path",
    "load_state_icon",
]

ICON_SIZES = (16, 20, 24, 32, 48, 64, 256)
"""Sizes written into each ICO: Windows picks 16/20/24/32 for the tray depending on the display scale."""

SUPERSAMPLE = 8
"""Draw at this multiple of the target size and downsample: smooth edges without blurring the glyph."""

OUTLINE = (24, 24, 24, 255)
HALO = (255, 255, 255, 255)
GLYPH = (255, 255, 255, 255)


@dataclass(frozen=True)
class IconStyle:
    """How one state looks: the fill colour, the glyph drawn on it, and the outer shape."""

    fill: tuple[int, int, int, int]
    glyph: str  # "mic", "mic_off", "mic_waves", "dots", "cross", "bang"
    shape: str = "disc"  # "disc" or "triangle"


STATE_STYLES: dict[ClientState, IconStyle] = {
    ClientState.OFF: IconStyle(fill=(120, 128, 138, 255), glyph="mic_off"),
    ClientState.LISTENING: IconStyle(fill=(22, 150, 70, 255), glyph="mic"),
    ClientState.SPEECH: IconStyle(fill=(220, 40, 36, 255), glyph="mic_waves"),
    ClientState.TRANSCRIBING: IconStyle(fill=(36, 104, 220, 255), glyph="dots"),
    ClientState.DISCONNECTED: IconStyle(fill=(128, 60, 170, 255), glyph="cross"),
    ClientState.ERROR: IconStyle(fill=(245, 170, 0, 255), glyph="bang", shape="triangle"),
}


def assets_dir() -> Path:
    """The `assets/` folder of a source checkout or editable install (the launchers install editable)."""
    return Path(__file__).resolve().parents[3] / "assets"


def icon_path(state: ClientState, suffix: str = "png", base: Path | None = None) -> Path:
    """Where make_assets.py writes the icon of `state` (`suffix` is "png" or "ico")."""
    return (base or assets_dir()) / "icons" / f"{state.value}.{suffix}"


@cache
def load_state_icon(state: ClientState) -> Image.Image:
    """The 64x64 RGBA image the tray shows for `state`: the committed PNG, or a fresh drawing without it."""
    path = icon_path(state)
    if path.is_file():
        with Image.open(path) as image:
            return image.convert("RGBA").copy()
    return draw_state_icon(state, 64)


def draw_state_icon(state: ClientState, size: int) -> Image.Image:
    """Draw the icon of `state` at `size` x `size` pixels (RGBA, transparent background)."""
    if size < 16:
        raise ValueError(f"icon size {size} is below 16 px: tray icons are never drawn smaller than 16x16")
    style = STATE_STYLES[state]
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    # One "unit" is one pixel of a 16x16 icon, so strokes stay at least a pixel wide at the smallest size.
    unit = big / 16
    _draw_shape(draw, style, big, unit)
    _GLYPHS[style.glyph](draw, big, unit)
    return image.resize((size, size), Image.LANCZOS)


def _draw_shape(draw: ImageDraw.ImageDraw, style: IconStyle, big: int, unit: float) -> None:
    """The outer shape in three layers: a dark outline, a white halo inside it, then the colour."""
    if style.shape == "triangle":
        for inset, colour in ((0.0, OUTLINE), (1.0, HALO), (1.9, style.fill)):
            draw.polygon(_triangle(big, unit, inset), fill=colour)
        return
    for inset, colour in ((0.0, OUTLINE), (0.9, HALO), (1.7, style.fill)):
        box = (inset * unit, inset * unit, big - 1 - inset * unit, big - 1 - inset * unit)
        draw.ellipse(box, fill=colour)


def _triangle(big: int, unit: float, inset: float) -> list[tuple[float, float]]:
    # The inset is applied along each edge's normal, roughly, by shrinking towards the centroid.
    top, left, right = (big / 2, 0.3 * unit), (0.0, big - 1.0), (big - 1.0, big - 1.0)
    cx, cy = big / 2, (top[1] + 2 * left[1]) / 3
    scale = 1 - inset * unit * 2.2 / big
    return [(cx + (x - cx) * scale, cy + (y - cy) * scale) for x, y in (top, left, right)]


def _mic(draw: ImageDraw.ImageDraw, big: int, unit: float) -> None:
    """A microphone: a capsule, a U-shaped holder and a stem with a foot."""
    cx = big / 2
    w = 2.2 * unit  # half-width of the capsule
    draw.rounded_rectangle((cx - w, 3.4 * unit, cx + w, 9.4 * unit), radius=w, fill=GLYPH)
    stroke = round(1.1 * unit)
    draw.arc((cx - 3.9 * unit, 4.6 * unit, cx + 3.9 * unit, 11.2 * unit), 0, 180, fill=GLYPH, width=stroke)
    draw.rectangle((cx - 0.55 * unit, 11.0 * unit, cx + 0.55 * unit, 12.9 * unit), fill=GLYPH)
    draw.rectangle((cx - 2.3 * unit, 12.3 * unit, cx + 2.3 * unit, 13.2 * unit), fill=GLYPH)


def _mic_off(draw: ImageDraw.ImageDraw, big: int, unit: float) -> None:
    """The microphone struck through: not listening."""
    _mic(draw, big, unit)
    draw.line((3.6 * unit, 3.6 * unit, big - 3.6 * unit, big - 3.6 * unit), fill=OUTLINE,
              width=round(2.4 * unit))
    draw.line((3.6 * unit, 3.6 * unit, big - 3.6 * unit, big - 3.6 * unit), fill=GLYPH,
              width=round(1.1 * unit))


def _mic_waves(draw: ImageDraw.ImageDraw, big: int, unit: float) -> None:
    """A solid, larger capsule with sound bars either side: speech is being heard."""
    cx = big / 2
    w = 2.5 * unit
    draw.rounded_rectangle((cx - w, 3.2 * unit, cx + w, 10.2 * unit), radius=w, fill=GLYPH)
    draw.rectangle((cx - 0.6 * unit, 10.0 * unit, cx + 0.6 * unit, 12.8 * unit), fill=GLYPH)
    draw.rectangle((cx - 2.4 * unit, 12.2 * unit, cx + 2.4 * unit, 13.2 * unit), fill=GLYPH)
    for dx, top, bottom in ((4.3, 5.0, 9.0), (6.0, 6.0, 8.0)):
        for sign in (-1, 1):
            x = cx + sign * dx * unit
            draw.rounded_rectangle((x - 0.55 * unit, top * unit, x + 0.55 * unit, bottom * unit),
                                   radius=0.5 * unit, fill=GLYPH)


def _dots(draw: ImageDraw.ImageDraw, big: int, unit: float) -> None:
    """Three dots: waiting for the transcript."""
    r = 1.35 * unit
    for dx in (-3.6, 0.0, 3.6):
        x, y = big / 2 + dx * unit, big / 2
        draw.ellipse((x - r, y - r, x + r, y + r), fill=GLYPH)


def _cross(draw: ImageDraw.ImageDraw, big: int, unit: float) -> None:
    """A bold X: the server cannot be reached."""
    a, b = 4.9 * unit, big - 4.9 * unit
    width = round(2.0 * unit)
    draw.line((a, a, b, b), fill=GLYPH, width=width)
    draw.line((a, b, b, a), fill=GLYPH, width=width)


def _bang(draw: ImageDraw.ImageDraw, big: int, unit: float) -> None:
    """A dark exclamation mark on the amber triangle: the user must act."""
    cx = big / 2
    draw.rounded_rectangle((cx - 0.95 * unit, 5.0 * unit, cx + 0.95 * unit, 10.6 * unit), radius=0.6 * unit,
                           fill=OUTLINE)
    draw.ellipse((cx - 1.0 * unit, 11.6 * unit, cx + 1.0 * unit, 13.6 * unit), fill=OUTLINE)


_GLYPHS = {
    "mic": _mic,
    "mic_off": _mic_off,
    "mic_waves": _mic_waves,
    "dots": _dots,
    "cross": _cross,
    "bang": _bang,
}
