"""Limits on what one client may do (join, guess tokens, submit, upload, generate), with their state
in the database so every web process of a deployment enforces the same numbers."""
