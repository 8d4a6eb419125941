"""Importers of real public datasets: the Olist marketplace into the shop database, and
clickstream / interaction datasets (and any ``user_id,item_id,timestamp`` CSV) into the
landing zone as event v1. Every importer is idempotent and returns an ``ImportReport``."""
