"""Telling a pipeline row's category from 物探点号 prefixes, segments and general 小类 codes (no database)."""

from __future__ import annotations

import pytest

from ingest.inference import (
    HOW_ENDS,
    HOW_GENERAL,
    HOW_PREFIX,
    HOW_SEGMENTS,
    Hints,
    decide_point,
    decide_segment,
    pair_of_prefix,
    prefix_of,
)
from ingest.targets import route


@pytest.mark.parametrize(("point_no", "pair"), [
    ("JS12", ("JS", None)), ("ys-3", ("PS", "YS")), ("WS007", ("PS", "WS")), ("RQ1", ("RQ", None)),
    ("DL5", ("DL", None)), ("LD2", ("DL", "LD")), ("XH9", ("DL", "XH")), ("DX4", ("TX", "DH")),
    ("DS8", ("TX", "DS")), ("RL3", ("RL", None)), ("GS1", ("JS", None)),
    ("J4", None), ("DXF-1A2", None), ("269", None), ("", None), (None, None),
])
def test_prefixes(point_no: str | None, pair: tuple[str, str | None] | None) -> None:
    assert pair_of_prefix(point_no) == pair


def test_prefix_is_the_leading_letters() -> None:
    assert prefix_of(" js-012") == "JS" and prefix_of("FM-V5") == "FM" and prefix_of("12") is None


def test_point_from_prefix_then_general_code() -> None:
    made = decide_point((None, None), "JS12", Hints(), None)
    assert (made.category, made.subcategory, made.problem) == ("JS", "JP", None)
    assert [(n.field, n.how, n.value) for n in made.inferred] == [
        ("category", HOW_PREFIX, "JS 给水"), ("subcategory", HOW_GENERAL, "JS/JP 配水")]
    assert route(made.category, made.subcategory).key == "water"


def test_prefix_naming_a_subcategory_needs_no_general_code() -> None:
    made = decide_point((None, None), "LD7", Hints(), None)
    assert (made.category, made.subcategory) == ("DL", "LD")
    assert [n.how for n in made.inferred] == [HOW_PREFIX, HOW_PREFIX]


def test_delivered_category_wins_over_the_prefix() -> None:
    made = decide_point(("PS", "WS"), "YS3", Hints(), None)
    assert (made.category, made.subcategory, made.inferred) == ("PS", "WS", ())


def test_segments_tell_an_unknown_prefix_and_refine_a_subcategory() -> None:
    hints = Hints()
    hints.add_segment("JS1", "P7", None)  # told by its JS end
    hints.add_segment("P9", "Q2", ("JS", "SS"))  # its own 管线类别/小类
    made = decide_point((None, None), "P7", hints, None)
    assert (made.category, made.subcategory) == ("JS", "JP")
    assert [n.how for n in made.inferred] == [HOW_SEGMENTS, HOW_GENERAL]
    made = decide_point((None, None), "JS9", Hints(at_point=hints.at_point), None)
    assert made.subcategory == "JP"  # JS9 is referenced by no segment: general code
    hints.add_segment("JS8", "Q3", ("JS", "SS"))
    made = decide_point((None, None), "JS8", hints, None)
    assert (made.subcategory, made.inferred[-1].how) == ("SS", HOW_SEGMENTS)


def test_unknown_prefix_without_segments_is_refused() -> None:
    made = decide_point((None, None), "ZZ1", Hints(), None)
    assert made.category is None and made.problem is not None and "'ZZ1' has no known CJJ 61 prefix" in made.problem


def test_the_name_comes_last() -> None:
    made = decide_point((None, None), "ZZ1", Hints(), ("PS", "YS"))
    assert (made.category, made.subcategory) == ("PS", "YS")
    made = decide_point((None, None), "RQ1", Hints(), ("PS", "YS"))
    assert made.category == "RQ"


def test_prefix_against_segments_is_a_conflict() -> None:
    hints = Hints()
    hints.add_segment("JS1", "JS2", ("RQ", None))
    made = decide_point((None, None), "JS1", hints, None)
    assert made.code == "category-conflict" and made.problem is not None
    assert "JS 给水" in made.problem and "RQ 燃气" in made.problem


def test_storm_and_sewage_segments_at_one_point_disagree() -> None:
    hints = Hints()
    hints.add_segment("P1", "YS2", None)
    hints.add_segment("P1", "WS3", None)
    made = decide_point((None, None), "P1", hints, None)
    assert made.code == "category-conflict" and made.problem is not None and "disagree" in made.problem


def test_segment_from_its_ends_or_their_contradiction() -> None:
    hints = Hints()
    hints.add_point("P1", ("PS", "YS"))  # a delivered point's own 管线类别
    made = decide_segment((None, None), "P1", "YS2", hints, None)
    assert (made.category, made.subcategory) == ("PS", "YS") and made.inferred[0].how == HOW_ENDS
    made = decide_segment((None, None), "JS1", "RQ2", hints, None)
    assert made.code == "category-conflict" and made.problem is not None and "'RQ2' is RQ 燃气" in made.problem


def test_heating_has_a_code_but_no_platform_layer() -> None:
    made = decide_point((None, None), "RL1", Hints(), None)
    assert (made.category, made.subcategory) == ("RL", "RS")
    r = route(made.category, made.subcategory)
    assert r.key is None and r.problem is not None and "not one of the nine" in r.problem
