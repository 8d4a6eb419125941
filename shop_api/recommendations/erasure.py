"""Right to erasure for the recommender: the ``recommendations`` step of ``DELETE /me``.

The published model versions hold the account's id (the key of its precomputed list and,
for LightFM, of its identity feature). The step nulls that key in every version folder of
every artifact root this process serves from (and the configured one), so the person is
never looked up again; each serving process reloads a rewritten version on its next
pointer check. The next training leaves the account out altogether (the ``interactions``
mart drops erased users). Safe to repeat.
"""

from __future__ import annotations

from typing import Any

from ml.serving import forget_users, live_roots
from shop_api.accounts.erasure import ErasureContext, erasure_step
from shop_api.core.config import get_settings


@erasure_step("recommendations")
def erase_from_recommender(ctx: ErasureContext) -> dict[str, Any]:
    summary = {"versions": 0, "entries_erased": 0}
    for root in {*live_roots(), get_settings().recommender_dir}:
        for name, count in forget_users(root, [str(ctx.user.id)]).items():
            summary[name] += count
    return summary
