r"""The two digit-recognition programs of the source, reproduced faithfully.

Both fit the linear model $\hat y = x \cdot w$ on 7 features (a normalized projection of a
6x6 digit image plus the bias 1) to the digit's label, then predict all ten digits.

* :func:`train_digits_manual` (program 1): gradients written by hand, per-sample updates,
  images 0-4, learning rate 0.05, 3000 epochs, column projections.
* :func:`train_digits_autograd` (the homework): autograd computes the gradient of the loss
  summed over images 0-5, learning rate 0.0005, 5000 steps; it trains on row projections
  but recognizes with column projections.

Both use the source's in-place normalization loop
(:func:`reference.features.sequential_normalize`) and float32 arithmetic, and draw the
initial weights as the source does, ``torch.rand(7, 1)``, from a private
:class:`torch.Generator` seeded with ``seed`` (the global random state is left alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from reference import _validate
from reference.digits import load_digits
from reference.features import projection, sequential_normalize, with_bias
from reference.linear import classify

__all__ = ["DigitProgramResult", "train_digits_autograd", "train_digits_manual"]

MANUAL_LR = 0.05
MANUAL_TRAIN_IMAGES = 5
AUTOGRAD_LR = 0.0005
AUTOGRAD_TRAIN_IMAGES = 6
NUM_WEIGHTS = 7


@dataclass(frozen=True)
class DigitProgramResult:
    r"""What one of the digit programs leaves behind.

    Attributes:
        initial_weights: the ``torch.rand(7, 1)`` draw the program started from, ``[7, 1]``
            float32.
        weights: the trained weights, ``[7, 1]`` float32 (the seventh is the bias).
        loss_history: float64 ``[epochs]`` (or ``[steps]``): the loss the program prints
            after each epoch (step), summed over its training images.
        train_features: the ``[n_train, 7]`` float32 rows the program trained on.
        features: the ``[10, 7]`` float32 rows used to recognize all ten digits.
        predictions: float32 ``[10]``, the model output $x_d \cdot w$ for digit
            $d = 0, \dots, 9$.
        classes: int64 ``[10]``, the predictions turned into classes by
            :func:`reference.linear.classify`.
        lr: the learning rate.
        train_dim: projection used for training (0 columns, 1 rows).
        infer_dim: projection used for recognition.
    """

    initial_weights: torch.Tensor
    weights: torch.Tensor
    loss_history: torch.Tensor
    train_features: torch.Tensor
    features: torch.Tensor
    predictions: torch.Tensor
    classes: torch.Tensor
    lr: float
    train_dim: int
    infer_dim: int


def _source_features(images: torch.Tensor, dim: int) -> list[torch.Tensor]:
    """One float32 row [1, 7] per image: sequentially normalized projection, then the 1."""
    return [with_bias(sequential_normalize(projection(image, dim))).view(1, -1) for image in images]


def _recognize(
    features: list[torch.Tensor], weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The source's final loop: one [1, 7] x [7, 1] product per digit, then the classes."""
    with torch.no_grad():
        predictions = torch.cat([row.mm(weights).view(1) for row in features])
    return predictions, classify(predictions)


def train_digits_manual(seed: int = 0, epochs: int = 3000) -> DigitProgramResult:
    r"""Program 1: linear regression on the digits with hand-written gradients.

    Starting from $w \sim U[0, 1)^{7}$ (``torch.rand(7, 1)``), every epoch visits images
    $i = 0, \dots, 4$ in order; for each it computes $\hat y = x_i \cdot w$ with the
    sequentially normalized column projection plus the bias, adds
    $\tfrac12 (\hat y - i)^2$ to the epoch loss, and updates every weight at once, all from
    the same $\hat y$:

    $$
    w_j \leftarrow w_j - \eta\, (\hat y - i)\, x_{ij} \quad (j = 1, \dots, 6), \qquad
    w_7 \leftarrow w_7 - \eta\, (\hat y - i), \qquad \eta = 0.05 .
    $$

    The arithmetic is the source's: float32 weights and features, the error taken as a
    Python float, the feature weights updated as ``error * x_j * lr`` and the bias as
    ``error * lr``; the results are bit for bit those of the original element-by-element
    loop, which takes a second or more where this one takes a fraction.

    Args:
        seed: seeds the private generator that draws the initial weights, $\ge 0$.
        epochs: number of passes over images 0-4, $\ge 0$ (the source uses 3000).

    Returns:
        A :class:`DigitProgramResult` with ``train_dim = infer_dim = 0``; ``predictions``
        covers all ten digits (the source prints only 0-4).

    Raises:
        TypeError: ``seed`` or ``epochs`` is not an int.
        ValueError: ``seed`` or ``epochs`` is negative.

    Example:
        >>> result = train_digits_manual(seed=0, epochs=3000)
        >>> result.classes[:5].tolist()
        [0, 1, 2, 3, 4]
    """
    seed = _validate.seed(seed)
    epochs = _validate.integer(epochs, "epochs", 0)
    generator = torch.Generator().manual_seed(seed)
    weights = torch.rand(NUM_WEIGHTS, 1, generator=generator)
    initial = weights.clone()
    images, labels = load_digits()
    features = _source_features(images, dim=0)
    train = features[:MANUAL_TRAIN_IMAGES]
    targets = [int(label) for label in labels[:MANUAL_TRAIN_IMAGES]]

    feature_weights, bias = weights[:6, 0], weights[6:, 0]  # views into weights
    losses = torch.zeros(epochs, dtype=torch.float64)
    for epoch in range(epochs):
        loss = 0.0
        for x, target in zip(train, targets, strict=True):
            y = x.mm(weights).item()
            error = y - target
            loss += 0.5 * error**2
            # w_j -= error * x_j * lr for the six feature weights (the source's six lines,
            # same float32 rounding), and w_7 -= error * lr for the bias.
            feature_weights.sub_(error * x[0, :6] * MANUAL_LR)
            bias.sub_(error * MANUAL_LR)
        losses[epoch] = loss

    predictions, classes = _recognize(features, weights)
    return DigitProgramResult(
        initial_weights=initial,
        weights=weights,
        loss_history=losses,
        train_features=torch.cat(train),
        features=torch.cat(features),
        predictions=predictions,
        classes=classes,
        lr=MANUAL_LR,
        train_dim=0,
        infer_dim=0,
    )


def train_digits_autograd(
    seed: int = 0, steps: int = 5000, train_dim: int = 1, infer_dim: int = 0
) -> DigitProgramResult:
    r"""The homework: the same model trained with autograd, full batch over images 0-5.

    Starting from $w \sim U[0, 1)^{7}$ (``torch.rand(7, 1)``, ``requires_grad``), each step
    builds the loss summed over images $i = 0, \dots, 5$,

    $$
    L(w) = \sum_{i=0}^{5} \tfrac12 (x_i \cdot w - i)^2 ,
    $$

    calls ``backward()``, updates $w \leftarrow w - \eta\, \nabla L$ with
    $\eta = 0.0005$ outside the graph, and zeroes ``w.grad`` (otherwise the next step
    would add its gradient to this one). Training features use projection ``train_dim``;
    recognition of all ten digits uses ``infer_dim``. The source trains on rows
    (``train_dim=1``) and recognizes with columns (``infer_dim=0``).

    The six per-image terms are computed as one matrix product; in float32 this can
    differ from the source's sum of six separate terms only in the last bits.

    Args:
        seed: seeds the private generator that draws the initial weights, $\ge 0$.
        steps: number of gradient steps, $\ge 0$ (the source uses 5000).
        train_dim: projection for training, 0 (columns) or 1 (rows).
        infer_dim: projection for recognition, 0 or 1.

    Returns:
        A :class:`DigitProgramResult`; ``weights`` is detached from the graph.

    Raises:
        TypeError: ``seed`` or ``steps`` is not an int.
        ValueError: ``seed`` or ``steps`` is negative, or a dim is not 0 or 1.

    Example:
        >>> result = train_digits_autograd(seed=0, steps=5000)
        >>> result.loss_history.shape
        torch.Size([5000])
    """
    seed = _validate.seed(seed)
    steps = _validate.integer(steps, "steps", 0)
    train_dim = _validate.projection_dim(train_dim, "train_dim")
    infer_dim = _validate.projection_dim(infer_dim, "infer_dim")
    generator = torch.Generator().manual_seed(seed)
    weights = torch.rand(NUM_WEIGHTS, 1, generator=generator, requires_grad=True)
    initial = weights.detach().clone()
    images, labels = load_digits()
    X = torch.cat(_source_features(images[:AUTOGRAD_TRAIN_IMAGES], dim=train_dim))
    targets = labels[:AUTOGRAD_TRAIN_IMAGES].to(torch.float32).view(-1, 1)

    losses = torch.zeros(steps, dtype=torch.float64)
    for step in range(steps):
        loss = (0.5 * (X.mm(weights) - targets) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            weights -= AUTOGRAD_LR * weights.grad
        weights.grad.zero_()
        losses[step] = loss.item()

    final = weights.detach().clone()
    features = _source_features(images, dim=infer_dim)
    predictions, classes = _recognize(features, final)
    return DigitProgramResult(
        initial_weights=initial,
        weights=final,
        loss_history=losses,
        train_features=X,
        features=torch.cat(features),
        predictions=predictions,
        classes=classes,
        lr=AUTOGRAD_LR,
        train_dim=train_dim,
        infer_dim=infer_dim,
    )
