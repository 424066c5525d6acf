"""The transcript history: one SQLite row per utterance, in the user's data directory.

stdlib `sqlite3` in WAL mode, so a row is on disk once `add` returns (a crash of the app after that loses
nothing) and a reader (the `history` command while the tray runs) never blocks the writer. A store object is
used by one thread only (sqlite3's default check); the app's writes go through `HistoryRecorder`'s thread.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

__all__ = ["HistoryEntry", "HistoryStore", "history_path", "median_or_none", "start_of_today", "to_json"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS utterances (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    text TEXT NOT NULL,
    raw TEXT NOT NULL,
    language TEXT NOT NULL,
    audio_s REAL NOT NULL,
    latency_s REAL,
    silence_s REAL,
    server_s REAL,
    typing_s REAL,
    target_app TEXT NOT NULL,
    output TEXT NOT NULL,
    utterance_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS utterances_time ON utterances(time);
"""
DAY_S = 86400.0


@dataclass(frozen=True)
class HistoryEntry:
    """One dictated utterance as it was output.

    `latency_s` is end of speech -> typed (None when unknown, e.g. a file fed faster than real time); its
    parts are the silence that confirmed the end, the server's answer, and the typing itself."""

    time: float  # Unix time when the text was output
    text: str  # as typed (sanitized)
    raw: str  # as the server sent it
    language: str
    audio_s: float
    latency_s: float | None
    silence_s: float | None
    server_s: float | None
    typing_s: float | None
    target_app: str  # process name (Windows) or WM_CLASS (X11) of the focused window; "" when unknown
    output: str  # type, clipboard or stdout
    utterance_id: str = ""

    def as_dict(self) -> dict[str, object]:
        """The row as plain values (the JSON export and `history --json`)."""
        return asdict(self)


_COLUMNS = tuple(f.name for f in fields(HistoryEntry))


def history_path() -> Path:
    """`history.sqlite3` in the user's data directory (beside nothing else: config and logs live elsewhere)."""
    from platformdirs import user_data_dir

    from tray_client.config import APP_NAME

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "history.sqlite3"


class HistoryStore:
    """The history database: add, prune, read back. One thread per store object."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=5.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL with WAL: a committed row survives an application crash; only a power cut may lose the last one.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, entry: HistoryEntry) -> None:
        """Write one row and commit it."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._db:
            self._db.execute(f"INSERT INTO utterances ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                             tuple(getattr(entry, name) for name in _COLUMNS))

    def prune(self, days: float, now: float | None = None) -> int:
        """Delete rows older than `days` (0: every row); return how many went."""
        cutoff = (time.time() if now is None else now) - days * DAY_S
        with self._db:
            cursor = self._db.execute("DELETE FROM utterances WHERE time < ?",
                                      (float("inf") if days <= 0 else cutoff,))
        return cursor.rowcount

    def recent(self, limit: int = 10, search: str | None = None) -> list[HistoryEntry]:
        """The newest rows first; with `search`, only rows whose typed or raw text contains it."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM utterances"
        args: list[object] = []
        if search:
            query += " WHERE instr(lower(text), lower(?)) > 0 OR instr(lower(raw), lower(?)) > 0"
            args += [search, search]
        query += " ORDER BY time DESC, id DESC"
        if limit > 0:
            query += " LIMIT ?"
            args.append(limit)
        return [HistoryEntry(*row) for row in self._db.execute(query, args)]

    def latencies_since(self, since: float) -> list[float]:
        """End-of-speech -> typed seconds of the rows since `since` (Unix time), oldest first."""
        rows = self._db.execute("SELECT latency_s FROM utterances WHERE time >= ? AND latency_s IS NOT NULL "
                                "ORDER BY time", (since,))
        return [row[0] for row in rows]

    def find(self, search: str = "", app: str = "", since: float | None = None, until: float | None = None,
             limit: int = 500) -> list[tuple[int, HistoryEntry]]:
        """(row id, entry), newest first, filtered like the History page: text (typed or raw, any script: instr
        compares code points, so CJK needs no tokenizer), app, and a time range [since, until)."""
        where: list[str] = []
        args: list[object] = []
        if search:
            where.append("(instr(lower(text), lower(?)) > 0 OR instr(lower(raw), lower(?)) > 0)")
            args += [search, search]
        if app:
            where.append("target_app = ?")
            args.append(app)
        if since is not None:
            where.append("time >= ?")
            args.append(since)
        if until is not None:
            where.append("time < ?")
            args.append(until)
        query = f"SELECT id, {', '.join(_COLUMNS)} FROM utterances"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY time DESC, id DESC LIMIT ?"
        args.append(max(1, limit))
        return [(row[0], HistoryEntry(*row[1:])) for row in self._db.execute(query, args)]

    def apps(self) -> list[str]:
        """The apps dictated into, most used first (the History filter and the Profiles page's suggestions)."""
        rows = self._db.execute("SELECT target_app FROM utterances WHERE target_app != '' GROUP BY target_app "
                                "ORDER BY COUNT(*) DESC, MAX(time) DESC")
        return [row[0] for row in rows]

    def delete(self, row_id: int) -> bool:
        """Delete one row; whether it was there."""
        with self._db:
            return self._db.execute("DELETE FROM utterances WHERE id = ?", (row_id,)).rowcount > 0


def median_or_none(values: list[float]) -> float | None:
    """p50 of `values`, None when there are none."""
    return statistics.median(values) if values else None


def start_of_today(now: float | None = None) -> float:
    """Local midnight as Unix time (the Recent menu's "today")."""
    current = time.localtime(time.time() if now is None else now)
    return time.mktime((current.tm_year, current.tm_mon, current.tm_mday, 0, 0, 0, 0, 0, -1))


def to_json(entries: list[HistoryEntry]) -> str:
    """The rows as a JSON array (UTF-8 text, CJK kept as is)."""
    return json.dumps([entry.as_dict() for entry in entries], ensure_ascii=False, indent=1)
