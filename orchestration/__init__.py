"""Mercado's orchestration: raw loads into the DuckDB warehouse and the Dagster code location.

``orchestration.loads`` holds plain functions (no Dagster inside) that the Dagster assets in
``orchestration.defs`` call; ``orchestration.definitions`` is the code location.
"""
