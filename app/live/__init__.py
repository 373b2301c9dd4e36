"""Live fan-out: events and class signals to the subscribers of this process (ground floor)."""
