"""One naming rule for dbt nodes, shared by the dbt component and the partitioned dbt assets.

Models are keyed ``[<schema>, <model>]`` (``["marts", "fct_orders"]``) so the asset graph
reads like the warehouse; sources keep dagster-dbt's ``[<source>, <table>]``, which is
``["raw", "events"]`` etc., the keys of the raw-load assets, so lineage is one graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

LAYERS = ("staging", "intermediate", "marts")


def dbt_asset_key(props: Mapping[str, Any], default: dg.AssetKey) -> dg.AssetKey:
    if props.get("resource_type") in ("model", "seed", "snapshot"):
        return dg.AssetKey([props.get("schema") or "main", props["name"]])
    return default


def dbt_group_name(props: Mapping[str, Any]) -> str | None:
    """``staging``, ``intermediate``, ``marts_<area>`` (``marts_commerce``), ``seeds``."""
    resource_type = props.get("resource_type")
    if resource_type == "seed":
        return "seeds"
    if resource_type != "model":
        return None
    fqn = list(props.get("fqn") or [])
    layer = fqn[1] if len(fqn) > 2 else "models"
    if layer == "marts" and len(fqn) > 3:
        return f"marts_{fqn[2]}"
    return layer if layer in LAYERS else "models"


def apply_naming(spec: dg.AssetSpec, props: Mapping[str, Any]) -> dg.AssetSpec:
    group = dbt_group_name(props)
    spec = spec.replace_attributes(key=dbt_asset_key(props, spec.key))
    return spec.replace_attributes(group_name=group) if group else spec


class MercadoDbtTranslator(DagsterDbtTranslator):
    """The naming rule for ``@dbt_assets`` (the component applies it in ``get_asset_spec``)."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dbt_asset_key(dbt_resource_props, super().get_asset_key(dbt_resource_props))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_group_name(dbt_resource_props) or super().get_group_name(dbt_resource_props)
