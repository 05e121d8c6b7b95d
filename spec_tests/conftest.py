"""Shared fixtures for the specs.

The claim registry checks and the ledger writer are the pytest plugin
``gradspec_plugin.plugin`` (registered as an entry point when gradspec is installed);
this file holds only fixtures and settings that specs share.
"""

from __future__ import annotations

from hypothesis import settings

# Property-based specs are deterministic: the same examples on every run and in any order,
# and no per-example deadline (a cold torch kernel can take a while on these machines).
settings.register_profile("gradspec", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("gradspec")
