"""The transcript history: what was dictated, where and how fast (SQLite in the user's data directory)."""

from tray_client.history.recorder import HistoryRecorder, HistorySnapshot, start_recorder
from tray_client.history.store import HistoryEntry, HistoryStore

__all__ = ["HistoryEntry", "HistoryRecorder", "HistorySnapshot", "HistoryStore", "start_recorder"]
