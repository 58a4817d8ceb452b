"""The running hall: runtime, journal, hub and its subscribers, outbox, device wiring, config loading."""
