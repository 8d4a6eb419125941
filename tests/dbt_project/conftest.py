"""The orchestration tests' built home, shared: ``make test`` simulates and builds it once
for every module that reads it (see ``tests/orchestration/conftest.py``)."""

from tests.orchestration.conftest import built_home, dbt_manifest, home_copy, simulated_home

__all__ = ["built_home", "dbt_manifest", "home_copy", "simulated_home"]
