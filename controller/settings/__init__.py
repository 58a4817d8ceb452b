"""The hall config file: its schema (every section) and the loader that reports each problem by line."""
