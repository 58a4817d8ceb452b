"""Window keypads (评价器): the role, RS-485 and MQTT drivers, and their simulated twins."""
