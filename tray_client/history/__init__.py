"""The transcript history: what was dictated, where and how fast (SQLite in the user's data directory)."""
