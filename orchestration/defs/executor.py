"""How runs execute their steps: Dagster's multiprocess executor (one process per step,
steps in parallel up to the cores, pools respected), or Celery workers when
``MERCADO_CELERY_BROKER_URL`` is set (the ``scale`` extra; ``orchestration/celery.yaml``).

The executor reads the broker and backend from the environment when a run starts (not
when the definitions load), so the URLs, which may hold a password, never show in the UI.
"""

import dagster as dg

from orchestration.settings import PipelineSettings

# The run config of the Celery executor; the workers start from the same values
# (orchestration/celery.yaml), or they would listen on another broker.
CELERY_CONFIG = {
    "broker": {"env": "MERCADO_CELERY_BROKER_URL"},
    "backend": {"env": "MERCADO_CELERY_BACKEND_URL"},
}


@dg.definitions
def executor() -> dg.Definitions:
    if not PipelineSettings().celery_broker_url:
        return dg.Definitions()  # Dagster's default: the multiprocess executor
    from dagster_celery import celery_executor

    return dg.Definitions(executor=celery_executor.configured(CELERY_CONFIG))
