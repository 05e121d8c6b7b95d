"""Figures of the digits chapter, drawn from reference.digits and reference.features."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from reference.digits import load_digits
from reference.features import normalize, projection, sequential_normalize

INK = "#1a237e"


def digit_grid() -> Figure:
    """The ten 6x6 bitmaps with their labels."""
    images, labels = load_digits()
    figure = Figure(figsize=(8, 3.4))
    axes = figure.subplots(2, 5)
    for ax, image, label in zip(axes.flat, images, labels, strict=True):
        ax.imshow(image.numpy(), cmap="Greys", vmin=0, vmax=1)
        ax.set_xticks(np.arange(-0.5, 6, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, 6, 1), minor=True)
        ax.grid(which="minor", color="#bdbdbd", linewidth=0.5)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(f"label {int(label)}")
    figure.suptitle("The data: ten 6x6 binary images")
    return figure


def projections() -> Figure:
    """Each digit above its vertical projection (column sums) and horizontal (row sums)."""
    images, _ = load_digits()
    figure = Figure(figsize=(11, 4.2))
    axes = figure.subplots(3, 10, gridspec_kw={"height_ratios": [1.2, 1, 1]})
    for digit in range(10):
        image = images[digit]
        top, middle, bottom = axes[0, digit], axes[1, digit], axes[2, digit]
        top.imshow(image.numpy(), cmap="Greys", vmin=0, vmax=1)
        top.set_axis_off()
        top.set_title(str(digit))
        middle.bar(range(6), projection(image, 0).numpy(), color=INK)
        middle.set_ylim(0, 5)
        bottom.barh(range(6), projection(image, 1).numpy(), color="#e65100")
        bottom.set_xlim(0, 5)
        bottom.invert_yaxis()  # row 0 at the top, as in the image
        for ax in (middle, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[1, 0].set_ylabel("dim 0\ncolumns", fontsize=8)
    axes[2, 0].set_ylabel("dim 1\nrows", fontsize=8)
    figure.suptitle("Vertical projection (sum over dim 0) and horizontal projection (dim 1)")
    return figure


def normalizations() -> Figure:
    """Digit 0's column sums, normalized properly and by the source's in-place loop."""
    images, _ = load_digits()
    p = projection(images[0], 0)
    proper = normalize(p).numpy()
    loop = sequential_normalize(p).numpy()
    figure = Figure(figsize=(6.5, 3))
    ax = figure.subplots()
    x = np.arange(6)
    ax.bar(x - 0.2, proper, width=0.4, label=f"v / sum(v)   (sum {proper.sum():.2f})", color=INK)
    ax.bar(x + 0.2, loop, width=0.4, label=f"in-place loop (sum {loop.sum():.2f})", color="#e65100")
    ax.set_xticks(x, [f"col {j}" for j in x])
    ax.set_ylim(0, 1)
    ax.set_ylabel("normalized feature")
    ax.legend(frameon=False)
    ax.set_title("Digit 0: the loop divides later columns by a shrinking total")
    return figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "digits-grid": digit_grid,
    "digits-projections": projections,
    "digits-normalizations": normalizations,
}
