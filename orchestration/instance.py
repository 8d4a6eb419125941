"""The Dagster instance settings for the warehouse in use, written into ``$DAGSTER_HOME``.

``orchestration/dagster.yaml`` limits every pool to one step at a time: the ``warehouse``
pool serialises writers because DuckDB allows one writer process. With
``MERCADO_WAREHOUSE=spark`` that limit is lifted (Spark takes concurrent writers), so
warehouse steps run in parallel like any other. ``make dev`` and ``mercado pipeline run``
write the file here; ``python -m orchestration.instance [DAGSTER_HOME]`` does it by hand.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import yaml

from orchestration.settings import PROJECT_ROOT, PipelineSettings

INSTANCE_CONFIG = PROJECT_ROOT / "orchestration" / "dagster.yaml"
SPARK_HEADER = (
    "# orchestration/dagster.yaml for MERCADO_WAREHOUSE=spark, written by\n"
    "# orchestration.instance: no pool limit, so warehouse writers run in parallel.\n"
)


def instance_yaml(settings: PipelineSettings) -> str:
    text = INSTANCE_CONFIG.read_text()
    if settings.warehouse == "duckdb":
        return text
    config = yaml.safe_load(text)
    config["concurrency"]["pools"].pop("default_limit", None)
    if not config["concurrency"]["pools"]:
        del config["concurrency"]["pools"]
    return SPARK_HEADER + yaml.safe_dump(config, sort_keys=False)


def write_instance_config(home: Path, settings: PipelineSettings) -> Path:
    """``home/dagster.yaml`` for these settings, replaced atomically when it differs."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    text = instance_yaml(settings)
    if not config.exists() or config.read_text() != text:
        staged = home / f".dagster-{uuid.uuid4().hex}.yaml"
        staged.write_text(text)
        staged.replace(config)
    return config


if __name__ == "__main__":
    settings = PipelineSettings()
    home = Path(sys.argv[1]) if len(sys.argv) > 1 else settings.resolved_dagster_home
    print(write_instance_config(home, settings))
