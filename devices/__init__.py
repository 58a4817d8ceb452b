"""Device drivers (printers, LED strips, keypads, screens, announcer), each with a simulated twin."""
