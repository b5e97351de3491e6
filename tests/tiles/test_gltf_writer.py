"""glTF vertex colours are linear (tiles/gltf_writer.py): a viewer turns them back into the style's sRGB."""

from __future__ import annotations

import numpy as np

from tiles.gltf_writer import linear_colours


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
