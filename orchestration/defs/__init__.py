"""Dagster definitions, one folder per concern (loaded by ``load_from_defs_folder``)."""
