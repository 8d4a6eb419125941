"""Upkeep of the platform's data: retention, on its own schedule."""
