"""LED strip and board commands on the hall bus (pure)."""
