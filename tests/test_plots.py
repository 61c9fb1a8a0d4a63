"""The run's pictures: the sample grids are drawn as one picture, tile by tile."""

import numpy as np
from PIL import Image

from mouthgan.evaluation.plots import sample_images


def test_sample_images_put_each_tile_in_its_row_and_column(tmp_path):
    rows, columns = 2, 4
    shades = np.linspace(0.1, 0.8, rows * columns)  # tile k: one gray level, row by row
    tiles = np.ones((rows * columns, 32, 48)) * shades[:, None, None]
    path = sample_images(tiles, tmp_path / "grid.png", title="step 7", columns=columns)
    picture = np.asarray(Image.open(path).convert("L"), np.float64)
    height, width = picture.shape
    # The tiles fill the width; the title takes a band at the top.
    band = height - width * (rows * 36 - 4) / (columns * 52 - 4)
    for k, shade in enumerate(shades):
        y = band + (k // columns + 0.5) * (height - band) / rows
        x = (k % columns + 0.5) * width / columns
        assert abs(picture[int(y), int(x)] - 255 * shade) <= 2, (k, picture[int(y), int(x)])
    assert picture[: int(band) // 2].min() < 128  # the title's text is drawn above
