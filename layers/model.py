"""The registry's row model: what One Map knows about a layer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from layers.schema import NAME_PATTERN, LayerSchema
from spatial.geometry import GEOMETRY_TYPES

Group = Literal["一张图", "管线", "建筑", "网格", "overlay"]
Access = Literal["public", "internal", "restricted"]
Kind = Literal["vector", "raster"]

GROUPS_EN: dict[str, str] = {
    "一张图": "One Map base", "管线": "Pipelines", "建筑": "Buildings", "网格": "Unit grid",
    "overlay": "Overlays",
}
ACCESS_RANK: dict[str, int] = {"public": 0, "internal": 1, "restricted": 2}
DATA_SCHEMA = "data"


class RasterEpoch(BaseModel):
    """One time slice of a raster layer; ``file`` is relative to the data folder."""

    model_config = ConfigDict(extra="forbid")

    datetime: dt.datetime
    file: str


class RasterInfo(BaseModel):
    """How to read and colour a raster layer."""

    model_config = ConfigDict(extra="forbid")

    epochs: list[RasterEpoch]
    unit: str | None = None
    nodata: float | None = None
    value_range: tuple[float, float] | None = None
    classes: dict[str, str] | None = None  # value → label, for categorical rasters
    native_crs: str = "EPSG:4326"


class LayerMetadata(BaseModel):
    """Provenance and labelling. ``sample`` marks generated data (示例数据) everywhere it shows."""

    model_config = ConfigDict(extra="forbid")

    sample: bool = False
    source: str | None = None
    licence: str | None = None
    attribution: str | None = None
    keywords: list[str] = Field(default_factory=list)
    notes: str | None = None
    owner: str | None = None
    raster: RasterInfo | None = None


class LayerDef(BaseModel):
    """A layer as defined (built-in YAML or an overlay registration)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: Annotated[str, Field(pattern=NAME_PATTERN, max_length=50)]
    title_zh: str
    title_en: str
    description_zh: str | None = None
    description_en: str | None = None
    group: Group
    kind: Kind = "vector"
    geometry_type: str | None = None
    attributes: LayerSchema = Field(alias="schema", default_factory=lambda: LayerSchema(fields=[]))
    access: Access = "public"
    style_id: str | None = None
    min_zoom: Annotated[int, Field(ge=0, le=24)] = 0
    max_zoom: Annotated[int, Field(ge=0, le=24)] = 22
    metadata: LayerMetadata = Field(default_factory=LayerMetadata)

    @model_validator(mode="after")
    def _consistent(self) -> LayerDef:
        if self.kind == "vector" and self.geometry_type not in GEOMETRY_TYPES:
            raise ValueError(f"layer {self.id}: geometry_type must be one of {sorted(GEOMETRY_TYPES)}")
        if self.kind == "raster" and (self.metadata.raster is None or not self.metadata.raster.epochs):
            raise ValueError(f"layer {self.id}: a raster layer needs metadata.raster.epochs")
        if self.min_zoom > self.max_zoom:
            raise ValueError(f"layer {self.id}: min_zoom is above max_zoom")
        if self.metadata.sample and "示例数据" not in self.title_zh:
            raise ValueError(f"layer {self.id}: sample layers must say 示例数据 in their Chinese title")
        return self

    def registry_row(self) -> dict[str, Any]:
        """The definition as the column values of its ``onemap.layers`` row."""
        return {
            "id": self.id,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "description_zh": self.description_zh,
            "description_en": self.description_en,
            "grp": self.group,
            "kind": self.kind,
            "geometry_type": self.geometry_type,
            "schema": self.attributes.model_dump(exclude_none=True),
            "access": self.access,
            "style_id": self.style_id,
            "min_zoom": self.min_zoom,
            "max_zoom": self.max_zoom,
            "metadata": self.metadata.model_dump(mode="json", exclude_none=True),
        }


class Layer(LayerDef):
    """A registered layer, with what the database adds."""

    temporal_start: dt.datetime | None = None
    temporal_end: dt.datetime | None = None
    builtin: bool = True
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def table(self) -> str:
        """Schema-qualified, quoted table name (safe: ids are validated by pattern)."""
        from layers.sql import qualified

        return qualified(DATA_SCHEMA, self.id)

    @property
    def is_vector(self) -> bool:
        """Whether the layer stores features in a table (rasters do not)."""
        return self.kind == "vector"

    @classmethod
    def from_row(cls, row: Any) -> Layer:
        """A layer from its ``onemap.layers`` row."""
        data = dict(row)
        data["group"] = data.pop("grp")
        data["schema"] = data.pop("schema")
        return cls.model_validate(data)
