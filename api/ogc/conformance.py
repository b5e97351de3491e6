"""The conformance classes One Map declares: exactly those its tests exercise.

tests/api/test_conformance.py maps every URI here to the tests that prove it; a
class without tests fails that file.
"""

from __future__ import annotations

FEATURES_1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
FEATURES_2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/"
FEATURES_3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
FEATURES_4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"
FEATURES_5 = "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
TILES_1 = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
TMS_2 = "http://www.opengis.net/spec/tms/2.0/conf/"
STYLES_1 = "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/"
PROCESSES_1 = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"

CONFORMANCE: tuple[str, ...] = (
    FEATURES_1 + "core",
    FEATURES_1 + "oas30",
    FEATURES_1 + "html",
    FEATURES_1 + "geojson",
    FEATURES_2 + "crs",
    FEATURES_3 + "queryables",
    FEATURES_3 + "filter",
    FEATURES_3 + "features-filter",
    CQL2 + "cql2-text",
    CQL2 + "cql2-json",
    CQL2 + "basic-cql2",
    CQL2 + "advanced-comparison-operators",
    CQL2 + "case-insensitive-comparison",
    CQL2 + "basic-spatial-functions",
    CQL2 + "basic-spatial-functions-plus",
    CQL2 + "spatial-functions",
    CQL2 + "temporal-functions",
    CQL2 + "property-property",
    CQL2 + "arithmetic",
    FEATURES_4 + "create-replace-delete",
    FEATURES_4 + "update",
    FEATURES_4 + "optimistic-locking-etags",
    FEATURES_4 + "features",
    FEATURES_5 + "schemas",
    FEATURES_5 + "core-roles-features",
    FEATURES_5 + "sortables",
    TILES_1 + "core",
    TILES_1 + "tileset",
    TILES_1 + "tilesets-list",
    TILES_1 + "geodata-tilesets",
    TILES_1 + "dataset-tilesets",
    TILES_1 + "geodata-selection",
    TILES_1 + "datetime",
    TILES_1 + "mvt",
    TILES_1 + "png",
    TMS_2 + "tilematrixset",
    TMS_2 + "json-tilematrixset",
    STYLES_1 + "core",
    STYLES_1 + "mapbox-styles",
    PROCESSES_1 + "core",
    PROCESSES_1 + "ogc-process-description",
    PROCESSES_1 + "json",
    PROCESSES_1 + "job-list",
    PROCESSES_1 + "dismiss",
    PROCESSES_1 + "oas30",
)
