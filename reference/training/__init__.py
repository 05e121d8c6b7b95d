"""The training core.

The readable loops (they mirror how the material teaches) live in submodules and are
re-exported here, so that ``from reference.training import sgd_per_sample`` works whichever
submodule defines it. Add one import line per submodule below.
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

__all__: list[str] = []
__all__ += ["DigitProgramResult", "train_digits_autograd", "train_digits_manual"]
__all__ += ["LinearFit", "data_iter", "fit_ten_x", "fit_two_points", "least_squares_test_mse"]
__all__ += ["mse_stable_lr", "synthetic_data", "ten_x_data"]
__all__ += ["train_linear_concise", "train_linear_scratch"]
__all__ += ["gd_full_batch", "sgd_per_sample", "stable_learning_rate"]
