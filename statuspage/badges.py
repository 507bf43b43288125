"""SVG uptime badges, one per component and window, for READMEs: `badges/api-30d.svg`.

Flat two-part badges in the style shields.io made familiar (label on grey, value on the
uptime band's colour), sized from Verdana's character widths so no font has to be loaded. Each
is a self-contained image with a `<title>` and `role="img"` so screen readers announce it.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from statuspage.report import percent, uptime_band

HEIGHT = 20
PADDING = 6
# Verdana 11px advance widths, rounded: enough to size a badge without measuring text.
CHAR_WIDTHS = {
    " ": 3.9,
    ".": 4.4,
    ":": 4.7,
    "%": 12.0,
    "i": 3.1,
    "l": 3.1,
    "t": 4.3,
    "f": 3.9,
    "r": 4.7,
    "m": 10.7,
    "w": 8.9,
}
DEFAULT_WIDTH = 7.0
# The same bands as the page's bars; dark enough for white text (4.5:1 or better).
BAND_COLOURS = {"good": "#1a7f37", "minor": "#7d5e00", "major": "#bc4c00", "down": "#cf222e", "none": "#57606a"}
LABEL_COLOUR = "#444d56"


def text_width(text: str) -> float:
    return sum(CHAR_WIDTHS.get(char, DEFAULT_WIDTH) for char in text)


def badge_svg(label: str, value: str, colour: str) -> str:
    label_width = round(text_width(label) + 2 * PADDING)
    value_width = round(text_width(value) + 2 * PADDING)
    width = label_width + value_width
    title = escape(f"{label}: {value}")
    label_x, value_x = label_width / 2, label_width + value_width / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        f'<rect width="{label_width}" height="{HEIGHT}" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{label_width}" width="{value_width}" height="{HEIGHT}" fill="{colour}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{label_x:g}" y="14">{escape(label)}</text>'
        f'<text x="{value_x:g}" y="14">{escape(value)}</text>'
        "</g></svg>\n"
    )


def uptime_badge(component_name: str, window: str, ratio: float | None) -> str:
    """`API uptime 30d | 99.95%`, coloured by the same bands as the daily bars."""
    return badge_svg(f"{component_name} uptime {window}", percent(ratio), BAND_COLOURS[uptime_band(ratio)])
