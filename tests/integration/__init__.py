"""Tests with real parts in process: ptys, a Mosquitto broker, SQLite or PostgreSQL, uvicorn."""
