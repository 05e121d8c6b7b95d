"""Drawing from a private generator in code written for torch's global one (private).

Some of torch's building blocks draw their random numbers from the global generator only
(``nn.Linear`` initialises its parameters with it). gradspec's rule is that no public
function advances the global generator, so such code runs inside :func:`drawing_from`: it
draws from the caller's ``torch.Generator`` instead, with exactly the numbers it would have
drawn from a global generator in the same state, and the global state is restored after.

Example:
    >>> import torch
    >>> from torch import nn
    >>> before = torch.get_rng_state()
    >>> with drawing_from(torch.Generator().manual_seed(0)):
    ...     layer = nn.Linear(3, 1)
    >>> torch.equal(before, torch.get_rng_state())
    True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def drawing_from(generator: torch.Generator) -> Iterator[None]:
    """Run a block whose global-generator draws come from ``generator`` (which advances)."""
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(generator.get_state())
        yield
        generator.set_state(torch.get_rng_state())
