"""Campaign audiences: definitions, membership and the files marketers pull."""
