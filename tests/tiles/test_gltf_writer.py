"""glTF vertex colours are linear (tiles/gltf_writer.py): a viewer turns them back into the style's sRGB."""

from __future__ import annotations

import numpy as np

from tests.tiles.threed_checks import glb_json
from tiles.gltf_writer import Prop, TileContent, linear_colours, quantized_normals, quantized_positions, write_glb
from tiles.threed_mesh import merge, tube


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    """What a viewer does on output: linear → sRGB, 8 bits."""
    c = linear.astype(np.float64) / 65535.0
    rgb = np.where(c[:, :3] <= 0.0031308, c[:, :3] * 12.92, 1.055 * c[:, :3] ** (1 / 2.4) - 0.055)
    return np.rint(np.concatenate([rgb, c[:, 3:]], axis=1) * 255.0).astype(int)


def test_style_colours_survive_the_viewers_linear_to_srgb_step() -> None:
    # sewage, signal and cable-TV: the colours that came out brighter when written as sRGB bytes
    srgb = np.array([[76, 57, 38, 255], [170, 0, 0, 255], [0, 150, 60, 255], [0, 0, 0, 128]], dtype=np.uint8)
    linear = linear_colours(srgb)
    assert linear.dtype == np.uint16
    assert (linear[:, :3] < srgb[:, :3].astype(np.uint32) * 257).any()  # mid tones are darker in linear
    assert np.array_equal(_to_srgb(linear), srgb.astype(int))
    assert linear[3, 3] == round(128 / 255 * 65535)  # alpha is not gamma-coded


def test_quantized_positions_stay_within_half_a_step() -> None:
    rnd = np.random.default_rng(3)
    points = np.column_stack([rnd.uniform(-300, 300, 500), rnd.uniform(-8, 2, 500), rnd.uniform(-310, 290, 500)])
    q, centre, step = quantized_positions(points)
    assert q.dtype == np.int16 and q.shape == (500, 4) and not q[:, 3].any()
    assert step < 0.01  # a 600 m tile: under a centimetre
    back = q[:, :3] * step + centre
    assert np.abs(back - points).max() <= step / 2 + 1e-9
    assert np.abs(q[:, :3]).max() <= 32767


def test_quantized_normals_keep_their_direction() -> None:
    normals = np.array([[0, 1, 0], [0.6, 0, -0.8], [-1, 0, 0]], dtype=float)
    q = quantized_normals(normals)
    assert q.dtype == np.int8 and not q[:, 3].any()
    back = q[:, :3] / 127.0
    cosines = (back * normals).sum(axis=1) / np.linalg.norm(back, axis=1)
    assert cosines.min() > 0.9999


def _content(colours: list[tuple[int, int, int, int]]) -> TileContent:
    mesh = merge([tube((0, 0, -1), (10, 0, -1), 0.1), tube((0, 5, -2), (10, 5, -2), 0.2)])
    half = mesh.vertex_count // 2
    per_vertex = np.repeat(np.array(colours, dtype=np.uint8), [half, mesh.vertex_count - half], axis=0)
    index = np.repeat(np.array([0, 1], dtype=np.uint32), [half, mesh.vertex_count - half])
    props = [Prop("id", "INT32")]
    return TileContent(mesh, index, per_vertex, "pipe_segment", "Pipes", props, [{"id": 1}, {"id": 2}])


def test_one_colour_goes_into_the_material_several_stay_per_vertex() -> None:
    brown = (76, 57, 38, 255)
    one = glb_json(write_glb(_content([brown, brown])))
    attributes = one["meshes"][0]["primitives"][0]["attributes"]
    assert "COLOR_0" not in attributes
    factor = one["materials"][0]["pbrMetallicRoughness"]["baseColorFactor"]
    assert np.allclose(factor, linear_colours(np.array([brown], dtype=np.uint8))[0] / 65535)
    assert one["extensionsRequired"] == ["KHR_mesh_quantization"]
    two = glb_json(write_glb(_content([brown, (0, 150, 60, 255)])))
    assert "COLOR_0" in two["meshes"][0]["primitives"][0]["attributes"]
    assert two["materials"][0]["pbrMetallicRoughness"].get("baseColorFactor", [1, 1, 1, 1]) == [1, 1, 1, 1]
    before = glb_json(write_glb(_content([brown, brown]), compact=False))
    assert "COLOR_0" in before["meshes"][0]["primitives"][0]["attributes"] and "extensionsRequired" not in before
