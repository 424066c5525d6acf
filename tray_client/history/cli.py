"""`python -m tray_client history`: read the transcript history, or export it.

    python -m tray_client history [--search TEXT] [--limit N] [--json]
    python -m tray_client history export --format csv|json FILE
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import fields
from pathlib import Path

from tray_client.history.store import HistoryEntry, HistoryStore, history_path, to_json

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tray_client history",
                                     description="Show or export what was dictated (newest first).")
    parser.add_argument("--search", help="only entries whose text contains this (case-insensitive)")
    parser.add_argument("--limit", type=int, default=20, help="most entries to show (0: all; default 20)")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of lines")
    parser.add_argument("--db", type=Path, default=None, help=argparse.SUPPRESS)  # tests and diagnostics
    sub = parser.add_subparsers(dest="command")
    export = sub.add_parser("export", help="write every entry to a file")
    export.add_argument("--format", choices=("csv", "json"), required=True)
    export.add_argument("file", type=Path)
    return parser


def main(argv: list[str]) -> int:
    """Run the history command; return the exit code (argparse exits 2 for bad arguments)."""
    args = _parser().parse_args(argv)
    path = args.db or history_path()
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")  # CJK on a cp1252 console or a C locale
    store = HistoryStore(path)
    try:
        if args.command == "export":
            entries = store.recent(0)
            _export(entries, args.format, args.file)
            sys.stderr.write(f"wrote {len(entries)} entries to {args.file}\n")
            return 0
        entries = store.recent(args.limit, args.search)
    finally:
        store.close()
    if args.json:
        sys.stdout.write(to_json(entries) + "\n")
    else:
        for entry in entries:
            sys.stdout.write(_line(entry) + "\n")
    return 0


def _line(entry: HistoryEntry) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.time))
    latency = f"{entry.latency_s * 1000:.0f} ms" if entry.latency_s is not None else "-"
    where = entry.target_app or "?"
    return f"{stamp}  {latency:>7}  {where:<12}  {entry.text}"


def _export(entries: list[HistoryEntry], form: str, file: Path) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    if form == "json":
        file.write_text(to_json(entries) + "\n", encoding="utf-8")
        return
    # utf-8-sig: Excel on Windows reads CJK in a CSV only with the byte-order mark.
    with file.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        names = [f.name for f in fields(HistoryEntry)]
        writer.writerow(names)
        for entry in entries:
            writer.writerow([getattr(entry, name) for name in names])
