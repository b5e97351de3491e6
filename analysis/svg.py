"""A small SVG writer for the section and profile drawings (text escaped, numbers rounded).

Drawings are self-contained (no external fonts or styles): labels use the generic
``sans-serif`` family, which the browser maps to an installed CJK font.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

FONT = "sans-serif"


class Svg:
    """Elements appended in drawing order; :meth:`text` renders the document."""

    def __init__(self, width: float, height: float, title: str) -> None:
        self.width = width
        self.height = height
        self.parts: list[str] = [f"<title>{escape(title)}</title>",
                                 f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>']

    @staticmethod
    def _attrs(attrs: dict[str, object]) -> str:
        out = []
        for k, v in attrs.items():
            value = f"{v:.2f}" if isinstance(v, float) else str(v)
            out.append(f"{k.replace('_', '-')}={quoteattr(value)}")
        return " ".join(out)

    def add(self, tag: str, **attrs: object) -> None:
        """An empty element, e.g. ``add("circle", cx=…, cy=…, r=…, fill="#00ffff")``."""
        self.parts.append(f"<{tag} {self._attrs(attrs)}/>")

    def label(self, x: float, y: float, content: str, *, size: float = 11, anchor: str = "start",
              **attrs: object) -> None:
        """Text at (x, y) in pixels."""
        extra = self._attrs({"font_family": FONT, "font_size": size, "text_anchor": anchor, **attrs})
        self.parts.append(f'<text x="{x:.2f}" y="{y:.2f}" {extra}>{escape(content)}</text>')

    def polyline(self, points: list[tuple[float, float]], **attrs: object) -> None:
        """An open polyline through pixel points."""
        pts = " ".join(f"{x:.2f},{y:.2f}" for x, y in points)
        self.parts.append(f'<polyline points="{pts}" {self._attrs({"fill": "none", **attrs})}/>')

    def text(self) -> str:
        """The SVG document."""
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width:.0f}" height="{self.height:.0f}" '
                f'viewBox="0 0 {self.width:.0f} {self.height:.0f}">')
        return head + "".join(self.parts) + "</svg>"


def hex_rgb(rgb: tuple[int, int, int]) -> str:
    """``#rrggbb`` of an (r, g, b) triple."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)
