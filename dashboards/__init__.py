"""The analysts' dashboards: an offline static site built from the marts."""
