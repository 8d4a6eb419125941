"""Landing zone and shop database → ``raw.*``."""
