"""Incremental dbt models as daily-partitioned ``@dbt_assets``.

They live beside ``transform/`` rather than inside it: a folder with a ``defs.yaml`` is
one component, and Python modules next to it are not loaded.
"""
