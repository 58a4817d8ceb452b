"""ESC/POS: ticket bytes and the printer's side of the wire (pure)."""
