"""Window keypad protocols: serial on the hall bus and MQTT JSON (pure)."""
