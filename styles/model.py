"""The style source: one per layer style (the registry's ``style_id``), in plain data.

Everything that draws a layer — the MapLibre style JSON, the web map's legend, folium report
maps and the raster colour maps — is compiled from these objects, so a colour is set once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

Channel = Annotated[int, Field(ge=0, le=255)]
Rgb = tuple[Channel, Channel, Channel]
Kind = Literal["polygon", "line", "point", "building", "grid", "pipeline", "raster"]
# The style files (styles/data/*.yaml) are validated into these classes: a misspelt key is an error.
_FILE_CONFIG = ConfigDict(extra="forbid")


def hex_color(rgb: Rgb) -> str:
    """``(r, g, b)`` → ``"#rrggbb"``."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


@dataclass(frozen=True, slots=True)
class Swatch:
    """One legend class: features whose ``by`` property equals ``value`` get ``rgb``.

    ``standard_rgb`` is the colour a standard prescribes when it differs from the on-screen one
    (CJJ 61 gives 路灯 and 信号 the same red as 供电; exports and reports keep that red).
    """

    __pydantic_config__ = _FILE_CONFIG

    value: str | None
    rgb: Rgb
    label_zh: str
    label_en: str
    standard_rgb: Rgb | None = None

    @property
    def color(self) -> str:
        """The on-screen colour as ``#rrggbb``."""
        return hex_color(self.rgb)

    @property
    def standard_color(self) -> str:
        """The colour the standard prescribes (exports, reports) as ``#rrggbb``."""
        return hex_color(self.standard_rgb or self.rgb)


@dataclass(frozen=True, slots=True)
class RasterRamp:
    """A colour map for a raster: linear ``stops`` (value, rgb) or categorical ``classes``.

    Values at or below ``transparent_below`` (and nodata) are transparent.
    """

    __pydantic_config__ = _FILE_CONFIG

    stops: tuple[tuple[float, Rgb], ...] = ()
    classes: tuple[tuple[int, Rgb, str, str], ...] = ()
    transparent_below: float | None = None
    unit: str | None = None

    @property
    def categorical(self) -> bool:
        """Whether the ramp lists classes rather than colour stops."""
        return bool(self.classes)


@dataclass(frozen=True, slots=True)
class StyleSource:
    """How one style draws its layer(s).

    Attributes:
        id: The registry ``style_id``.
        kind: Drawing family; ``pipeline`` draws segments as lines and points as circles.
        title_zh / title_en: Legend heading.
        swatches: Classes; a swatch with ``value`` None is the default for anything else.
        by: Property the swatches classify on.
        by_prefix: Compare only the first n characters of ``by`` (land-use level-1 codes).
        label: Property to label features with, from ``label_minzoom``.
        outline: Outline colour for polygons and circles.
        width: Line width in pixels at zoom 16 (scaled with zoom).
        opacity: Fill or line opacity.
        dashed_when: (property, values) drawn dashed — e.g. abandoned pipes.
        height / floors: Properties giving building height in metres / storeys (3 m each).
        extra_needs: Further properties the style reads.
        raster: Colour map for raster layers.
        fill: Whether polygons are filled (False draws outlines only, e.g. boundaries).
    """

    __pydantic_config__ = _FILE_CONFIG

    id: str
    kind: Kind
    title_zh: str
    title_en: str
    swatches: tuple[Swatch, ...]
    by: str | None = None
    by_prefix: int | None = None
    label: str | None = None
    label_minzoom: int = 14
    outline: Rgb | None = None
    width: float = 1.5
    opacity: float = 0.8
    dashed_when: tuple[str, tuple[str, ...]] | None = None
    height: str | None = None
    floors: str | None = None
    extra_needs: tuple[str, ...] = field(default_factory=tuple)
    raster: RasterRamp | None = None
    fill: bool = True

    @property
    def default(self) -> Swatch:
        """The swatch for values no class names (the first swatch when none is marked default)."""
        for s in self.swatches:
            if s.value is None:
                return s
        return self.swatches[0]

    @property
    def classes(self) -> tuple[Swatch, ...]:
        """The swatches that name a value, in legend order."""
        return tuple(s for s in self.swatches if s.value is not None)

    def needs(self) -> tuple[str, ...]:
        """Every property this style reads (tiles send these at low zoom)."""
        names = [self.by, self.label, self.height, self.floors, *self.extra_needs]
        if self.dashed_when:
            names.append(self.dashed_when[0])
        return tuple(dict.fromkeys(n for n in names if n))

    def swatch_for(self, value: object) -> Swatch:
        """The swatch a feature whose ``by`` property is ``value`` is drawn with."""
        if self.by is None or value is None:
            return self.default
        text = str(value)
        if self.by_prefix:
            text = text[: self.by_prefix]
        for s in self.classes:
            if s.value == text:
                return s
        return self.default
