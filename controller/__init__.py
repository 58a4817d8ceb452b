"""The hall controller: one event-driven engine that owns the state of a service hall (政务服务大厅)."""
