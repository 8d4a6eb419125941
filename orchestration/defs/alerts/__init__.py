"""Alerts: failed runs and blocking checks, to the log and a webhook."""
