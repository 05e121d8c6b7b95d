"""gradspec's reference implementation.

One concept per module: :mod:`reference.digits` (the data), :mod:`reference.features`
(projections and normalization), and one module per later chapter. Every public function
validates its inputs and raises :class:`ValueError` or :class:`TypeError` naming the argument.
"""

__version__ = "0.1.0"
