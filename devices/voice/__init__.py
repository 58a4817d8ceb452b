"""The voice announcer: clips, audio output and the announcement queue."""
