"""Severity by consequence, in GE's own terms.

``critical`` (Dagster ERROR): data downstream would be wrong, so dependants are blocked.
``warning`` (Dagster WARN): a source anomaly; it is counted and recorded, dependants build.
Row-level expectations (``meta["row_level"]``) quarantine the rows that fail them: a bad
row is a source anomaly, so they are ``warning``; a suite's ``max_bad_share`` turns a
quarantine that takes too large a share of the batch (a systematic break) into an error.
"""

ERROR = "critical"
WARN = "warning"
ROW_LEVEL = "row_level"
CHECK = "check"
