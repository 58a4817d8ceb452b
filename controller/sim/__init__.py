"""The digital twin and the demo: simulated citizens and staff acting through the real engine."""
