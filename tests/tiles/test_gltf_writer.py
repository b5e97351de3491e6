"""glTF vertex colours are linear (tiles/gltf_writer.py): a viewer turns them back into the style's sRGB."""

from __future__ import annotations

import numpy as np

from tiles.gltf_writer import linear_colours, quantized_normals, quantized_positions


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
