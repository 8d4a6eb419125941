"""Staff-only access to the published marketing audiences (``/marketing``)."""
