"""The pytest plugin behind gradspec's claim registry and ledger.

It is registered as the ``gradspec_ledger`` entry point (``pytest11``), so a plain
``pytest spec_tests`` in an environment where gradspec is installed checks the claim markers
and writes ``build/ledger.json``. See :mod:`gradspec_plugin.plugin`.
"""
