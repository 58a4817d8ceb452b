"""The RS-485 hall bus line shared by LED displays and keypads: the master's port and a simulated multi-drop line."""
