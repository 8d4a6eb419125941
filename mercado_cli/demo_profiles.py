"""The demo's customer profiles, as the pipeline run built them: the ``profiles`` tables
in the warehouse and the propensity evaluation recorded on the asset's materialisation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.loads.warehouse import open_reader

PROFILES_ASSET = dg.AssetKey(["profiles", "customer_profiles"])


@dataclass(frozen=True)
class ProfileSummary:
    customers: int
    with_embedding: int
    as_of: str
    segments: list[tuple[str, int]]  # segment name -> customers, largest first
    propensity: dict[str, Any]


def summarise_profiles(warehouse: Path, instance: dg.DagsterInstance) -> ProfileSummary | None:
    """What ``profiles/customer_profiles`` and ``profiles/segments`` wrote; None when the
    run did not build them."""
    with open_reader(warehouse) as conn:
        tables = {
            name
            for (name,) in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'profiles'"
            ).fetchall()
        }
        if not {"customer_profiles", "customer_segments"} <= tables:
            return None
        customers, with_embedding, as_of = conn.execute(
            "select count(*), count(embedding), max(as_of) from profiles.customer_profiles"
        ).fetchone() or (0, 0, None)
        segments = conn.execute(
            "select segment_name, count(*) as customers from profiles.customer_segments "
            "group by segment_name order by customers desc, segment_name"
        ).fetchall()
    event = instance.get_latest_materialization_event(PROFILES_ASSET)
    materialization = event.asset_materialization if event is not None else None
    metadata = materialization.metadata if materialization is not None else {}
    found = metadata.get("propensity_metrics")
    propensity = found.value if isinstance(found, dg.JsonMetadataValue) else {}
    return ProfileSummary(
        customers=int(customers),
        with_embedding=int(with_embedding),
        as_of=str(as_of)[:10] if as_of is not None else "-",
        segments=[(str(name), int(count)) for name, count in segments],
        propensity=propensity if isinstance(propensity, dict) else {},
    )


def format_profiles(summary: ProfileSummary) -> str:
    lines = [
        f"  customers profiled     {summary.customers:,} as of {summary.as_of} "
        f"({summary.with_embedding:,} with the recommender's user embedding)",
        "  segments               "
        + "; ".join(f"{name} {count:,}" for name, count in summary.segments[:6]),
    ]
    propensity = summary.propensity
    if propensity.get("status") == "trained":
        model, baseline = propensity["model"], propensity["rfm_baseline"]
        lines.append(
            f"  30-day purchase propensity: AUC {model['auc']:.3f} against "
            f"{baseline['auc']:.3f} for RFM alone (base rate {propensity['base_rate']:.1%})"
        )
    else:
        lines.append(
            "  30-day purchase propensity: not trained ("
            + str(propensity.get("reason", "no history"))
            + ")"
        )
    return "\n".join(lines)
