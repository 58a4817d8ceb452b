"""Pure wire codecs (stdlib only, no I/O, no clock) for the hall's devices."""
