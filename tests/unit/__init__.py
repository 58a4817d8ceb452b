"""Pure tests: the engine, codecs, renderers, config and docs; no pty, broker, database or process."""
