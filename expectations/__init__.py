"""Great Expectations suites for Mercado's data, and the runner Dagster calls.

Suites are built in code from rules that already exist elsewhere (the collector's event
schema, the shop's enums and keys), which the caller passes in as plain data: this package
imports nothing of the shop or of the warehouse layout.
"""

import os

# Before great_expectations is first imported anywhere: no usage statistics, no network.
os.environ["GX_ANALYTICS_ENABLED"] = "false"
