"""Every declared conformance class is backed by tests that exercise it, and nothing more is claimed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from api.ogc.conformance import CONFORMANCE

HERE = Path(__file__).resolve().parent

# Declared class → tests (file::function) that prove it. Adding a class without tests fails here.
EVIDENCE: dict[str, list[str]] = {
    "ogcapi-features-1/1.0/conf/core": [
        "test_core.py::test_landing_links",
        "test_core.py::test_conformance_lists_declared_classes",
        "test_collections.py::test_collection_metadata",
        "test_items.py::test_paging_visits_every_feature_once",
        "test_items.py::test_item_by_id",
        "test_items.py::test_bbox_selects_intersecting_features",
        "test_items.py::test_bad_parameters_are_400_problems",
        "test_clients.py::test_ogr2ogr_pulls_every_feature",
    ],
    "ogcapi-features-1/1.0/conf/oas30": [
        "test_core.py::test_openapi_30_describes_every_path",
        "test_clients.py::test_schemathesis_finds_no_server_errors_or_schema_violations",
    ],
    "ogcapi-features-1/1.0/conf/html": [
        "test_core.py::test_html_by_accept_and_f",
        "test_items.py::test_item_and_items_html",
        "test_browser.py::test_item_page_map",
    ],
    "ogcapi-features-1/1.0/conf/geojson": [
        "test_items.py::test_item_by_id",
        "test_clients.py::test_ogrinfo_lists_collections",
    ],
    "ogcapi-features-2/1.0/conf/crs": [
        "test_items.py::test_output_crs_and_content_crs",
        "test_items.py::test_bbox_crs_lat_lon_axis_order",
        "test_items.py::test_bbox_crs_gauss_kruger",
    ],
    "ogcapi-features-3/1.0/conf/queryables": ["test_collections.py::test_queryables_from_registry_schema"],
    "ogcapi-features-3/1.0/conf/filter": [
        "test_filter.py::test_cql2_text_and_json_agree_with_python",
        "test_filter.py::test_bad_filters_are_400",
    ],
    "ogcapi-features-3/1.0/conf/features-filter": [
        "test_filter.py::test_filter_with_bbox_and_sort",
        "test_filter.py::test_filter_crs_gauss_kruger",
    ],
    "cql2/1.0/conf/cql2-text": ["test_filter.py::test_cql2_text_and_json_agree_with_python"],
    "cql2/1.0/conf/cql2-json": ["test_filter.py::test_cql2_text_and_json_agree_with_python"],
    "cql2/1.0/conf/basic-cql2": ["test_filter.py::test_cql2_text_and_json_agree_with_python"],
    "cql2/1.0/conf/advanced-comparison-operators": [
        "test_filter.py::test_cql2_text_and_json_agree_with_python"
    ],
    "cql2/1.0/conf/case-insensitive-comparison": [
        "test_filter.py::test_cql2_text_and_json_agree_with_python"
    ],
    "cql2/1.0/conf/basic-spatial-functions": ["test_filter.py::test_cql2_text_and_json_agree_with_python"],
    "cql2/1.0/conf/basic-spatial-functions-plus": [
        "test_filter.py::test_cql2_text_and_json_agree_with_python"
    ],
    "cql2/1.0/conf/spatial-functions": ["test_filter.py::test_cql2_text_and_json_agree_with_python"],
    "cql2/1.0/conf/temporal-functions": ["test_filter.py::test_cql2_text_and_json_agree_with_python"],
    "cql2/1.0/conf/property-property": ["test_filter.py::test_cql2_text_and_json_agree_with_python"],
    "cql2/1.0/conf/arithmetic": ["test_filter.py::test_cql2_text_and_json_agree_with_python"],
    "ogcapi-features-4/1.0/conf/create-replace-delete": [
        "test_writes.py::test_create_replace_patch_delete_round_trip",
        "test_clients.py::test_part4_round_trip_with_etags",
    ],
    "ogcapi-features-4/1.0/conf/update": ["test_writes.py::test_create_replace_patch_delete_round_trip"],
    "ogcapi-features-4/1.0/conf/optimistic-locking-etags": [
        "test_writes.py::test_a_wrong_if_match_is_412_and_changes_nothing"
    ],
    "ogcapi-features-4/1.0/conf/features": [
        "test_writes.py::test_invalid_features_get_field_errors",
        "test_writes.py::test_content_crs_on_write",
    ],
    "ogcapi-features-5/1.0/conf/schemas": [
        "test_schema.py::test_every_collection_serves_its_schema",
        "test_schema.py::test_items_validate_against_their_schema",
        "test_schema.py::test_collection_links_its_schema",
    ],
    "ogcapi-features-5/1.0/conf/core-roles-features": [
        "test_schema.py::test_roles_name_id_geometry_and_valid_time",
        "test_schema.py::test_items_validate_against_their_schema",
    ],
    "ogcapi-features-5/1.0/conf/sortables": [
        "test_collections.py::test_sortables_exclude_geometry",
        "test_items.py::test_sortby_pages_through_in_order",
    ],
    "ogcapi-tiles-1/1.0/conf/core": [
        "tiles/test_tiles_api.py::test_tiles_in_every_matrix_set",
        "tiles/test_tiles_api.py::test_empty_tile_is_204_and_outside_the_matrix_404",
        "tiles/test_tiles_api.py::test_bad_parameters_are_problem_json_400",
    ],
    "ogcapi-tiles-1/1.0/conf/tileset": ["tiles/test_tiles_api.py::test_tileset_metadata_and_limits"],
    "ogcapi-tiles-1/1.0/conf/tilesets-list": ["tiles/test_tiles_api.py::test_tileset_metadata_and_limits"],
    "ogcapi-tiles-1/1.0/conf/geodata-tilesets": [
        "tiles/test_tiles_api.py::test_tileset_metadata_and_limits",
        "tiles/test_tiles_api.py::test_restricted_layers_are_404_for_tiles_too",
    ],
    "ogcapi-tiles-1/1.0/conf/dataset-tilesets": [
        "tiles/test_tiles_api.py::test_combined_tiles_hold_each_requested_layer"
    ],
    "ogcapi-tiles-1/1.0/conf/geodata-selection": [
        "tiles/test_tiles_api.py::test_combined_tiles_hold_each_requested_layer"
    ],
    "ogcapi-tiles-1/1.0/conf/datetime": ["tiles/test_tiles_api.py::test_datetime_properties_and_filter"],
    "ogcapi-tiles-1/1.0/conf/mvt": ["tiles/test_tiles_api.py::test_tilejson_says_z_y_x"],
    "ogcapi-tiles-1/1.0/conf/png": ["tiles/test_tiles_api.py::test_raster_tiles_pick_the_epoch"],
    "tms/2.0/conf/tilematrixset": ["tiles/test_tiles_api.py::test_tile_matrix_sets"],
    "tms/2.0/conf/json-tilematrixset": ["tiles/test_tiles_api.py::test_tile_matrix_sets"],
    "ogcapi-styles-1/1.0/conf/core": ["../styles/test_validate.py::test_every_style_validates"],
    "ogcapi-styles-1/1.0/conf/mapbox-styles": [
        "../styles/test_validate.py::test_every_style_validates",
        "../styles/test_validate.py::test_styles_only_draw_layers_the_caller_may_read",
    ],
    "ogcapi-processes-1/1.0/conf/core": [
        "processes/test_routes.py::test_list_and_describe",
        "processes/test_routes.py::test_sync_document_counts_what_sql_counts",
        "processes/test_runner.py::test_async_job_runs_reports_progress_and_answers_results",
        "processes/test_clients.py::test_owslib_lists_describes_and_executes",
    ],
    "ogcapi-processes-1/1.0/conf/ogc-process-description": ["processes/test_routes.py::test_list_and_describe"],
    "ogcapi-processes-1/1.0/conf/json": [
        "processes/test_routes.py::test_sync_document_counts_what_sql_counts",
        "processes/test_routes.py::test_raw_one_output_and_multipart",
    ],
    "ogcapi-processes-1/1.0/conf/job-list": ["processes/test_runner.py::test_job_list_filters_and_pages"],
    "ogcapi-processes-1/1.0/conf/dismiss": ["processes/test_runner.py::test_dismiss_cancels_a_running_job"],
    "ogcapi-processes-1/1.0/conf/oas30": [
        "processes/test_routes.py::test_openapi_describes_the_processes_paths",
        "test_clients.py::test_schemathesis_finds_no_server_errors_or_schema_violations",
    ],
}
# Operators each CQL2 class needs, checked against the filter test cases' text.
OPERATORS = {
    "basic-cql2": ["=", "<>", "<", ">=", "AND", "OR", "NOT", "IS NULL"],
    "advanced-comparison-operators": ["LIKE", "BETWEEN", "IN ("],
    "case-insensitive-comparison": ["CASEI("],
    "basic-spatial-functions": ["S_INTERSECTS(geometry, BBOX("],
    "basic-spatial-functions-plus": ["POINT(", "POLYGON("],
    "spatial-functions": ["S_WITHIN", "S_DISJOINT", "S_EQUALS"],
    "temporal-functions": ["T_AFTER", "T_BEFORE", "T_DURING", "T_INTERSECTS"],
    "property-property": ["n * 10 > area"],
    "arithmetic": ["*"],
}


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_declared_class_has_evidence_and_nothing_more() -> None:
    declared = {uri.split("/spec/", 1)[1] for uri in CONFORMANCE}
    assert declared == set(EVIDENCE)
    for uri in CONFORMANCE:
        assert uri.startswith("http://www.opengis.net/spec/")


@pytest.mark.parametrize("cls", sorted(EVIDENCE))
def test_evidence_exists(cls: str) -> None:
    for ref in EVIDENCE[cls]:
        file, func = ref.split("::")
        assert func in _functions(HERE / file), f"{cls}: {ref} is missing"


@pytest.mark.parametrize("cls", sorted(OPERATORS))
def test_cql2_cases_cover_each_class(cls: str) -> None:
    from tests.api.test_filter import CASES

    texts = " ".join(c[0] for c in CASES)
    for op in OPERATORS[cls]:
        assert op in texts, f"{cls}: no filter case uses {op}"
