"""Hall bus framing on RS-485, shared by LED displays and keypads (pure)."""
