"""Pure: the History and Stats pages' data from history rows: entries as JSON with ISO times, the CSV/JSON
exports, and the per-day latency percentiles, their parts and the words dictated.

Times are local ISO 8601 with the UTC offset (`2026-12-07T17:05:03+01:00`): what a spreadsheet and a person
both read without guessing the zone.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from tray_client.history.store import HistoryEntry

__all__ = ["EXPORT_COLUMNS", "daily_stats", "entry_json", "export_csv", "export_json", "iso_time", "percentile", "start_of_day",
           "word_count"]

EXPORT_COLUMNS = ("time", "text", "raw", "language", "target_app", "output", "audio_s", "latency_s", "silence_s",
                  "server_s", "typing_s", "utterance_id")
# A CJK ideograph, kana or hangul syllable counts as a word (no spaces between them); elsewhere a run of letters.
_WORDS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W\d_]+|\d+")


def start_of_day(unix: float) -> float:
    """Local midnight of the day `unix` falls on."""
    day = datetime.fromtimestamp(unix)
    return day.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def iso_time(unix: float) -> str:
    return datetime.fromtimestamp(unix).astimezone().isoformat(timespec="seconds")


def entry_json(row_id: int, entry: HistoryEntry) -> dict[str, object]:
    """One row as the History page shows it."""
    return {"id": row_id, **entry.as_dict(), "iso_time": iso_time(entry.time)}


def _export_rows(entries: Iterable[HistoryEntry]) -> list[dict[str, object]]:
    return [{**{name: getattr(entry, name) for name in EXPORT_COLUMNS}, "time": iso_time(entry.time)}
            for entry in entries]


def export_json(entries: Iterable[HistoryEntry]) -> str:
    return json.dumps(_export_rows(entries), ensure_ascii=False, indent=1) + "\n"


def export_csv(entries: Iterable[HistoryEntry]) -> str:
    """RFC 4180 CSV with a header; UTF-8 with a BOM so Excel reads CJK text right."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in _export_rows(entries):
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return "\ufeff" + out.getvalue()


def word_count(text: str) -> int:
    return len(_WORDS.findall(text))


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (p50: share 0.5); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def daily_stats(entries: Iterable[HistoryEntry]) -> list[dict[str, object]]:
    """Per local day, oldest first: utterances, words, latency p50/p95 and the p50 of each part."""
    days: dict[str, list[HistoryEntry]] = {}
    for entry in entries:
        days.setdefault(datetime.fromtimestamp(entry.time).date().isoformat(), []).append(entry)
    result: list[dict[str, object]] = []
    for day in sorted(days):
        rows = days[day]
        latencies = [e.latency_s for e in rows if e.latency_s is not None]
        parts = {name: percentile([getattr(e, name) for e in rows if getattr(e, name) is not None], 0.5)
                 for name in ("silence_s", "server_s", "typing_s")}
        result.append({"day": day, "utterances": len(rows), "words": sum(word_count(e.text) for e in rows),
                       "p50_s": percentile(latencies, 0.5), "p95_s": percentile(latencies, 0.95), **parts})
    return result
