"""The hall's rules as a pure state machine: commands, events, state, engine; no I/O, no clock."""
