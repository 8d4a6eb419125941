"""Suite builders: one module per family of tables (events, shop tables, marts)."""
