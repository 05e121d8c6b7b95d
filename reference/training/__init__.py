"""The training core.

The readable loops (they mirror how the material teaches) live in submodules and are
re-exported here, so that ``from reference.training import sgd_per_sample`` works whichever
submodule defines it. Each submodule adds its import line and its names to ``__all__``.
"""

from __future__ import annotations

from .digit_programs import DigitProgramResult, train_digits_autograd, train_digits_manual
from .linear_regression import (
    LinearFit,
    data_iter,
    fit_ten_x,
    fit_two_points,
    least_squares_test_mse,
    mse_stable_lr,
    synthetic_data,
    ten_x_data,
    train_linear_concise,
    train_linear_scratch,
)
from .squared_loss import gd_full_batch, sgd_per_sample, stable_learning_rate

__all__ = [
    "DigitProgramResult",
    "LinearFit",
    "data_iter",
    "fit_ten_x",
    "fit_two_points",
    "gd_full_batch",
    "least_squares_test_mse",
    "mse_stable_lr",
    "sgd_per_sample",
    "stable_learning_rate",
    "synthetic_data",
    "ten_x_data",
    "train_digits_autograd",
    "train_digits_manual",
    "train_linear_concise",
    "train_linear_scratch",
]
