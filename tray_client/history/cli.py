"""`python -m tray_client history`: read the transcript history, or export it.

    python -m tray_client history [--search TEXT] [--limit N] [--json]
    python -m tray_client history export csv|json [FILE]      (no FILE: to the standard output)

`--format csv|json` still works, and a FILE ending in .csv or .json says the format by itself. The CSV's `time`
column is ISO 8601 local time with its UTC offset (2026-12-07T16:05:09+01:00), which a spreadsheet reads; the JSON
keeps the Unix time.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import TextIO

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
    export = sub.add_parser("export", help="write every entry to a file (csv or json)",
                            usage="python -m tray_client history export csv|json [FILE]")
    export.add_argument("--format", choices=FORMATS, default=None, help=argparse.SUPPRESS)  # the older spelling
    export.add_argument("what", nargs="*", metavar="csv|json [FILE]",
                        help="the format, then the file (none: the standard output)")
    return parser


FORMATS = ("csv", "json")


def _export_target(parser: argparse.ArgumentParser, form: str | None, what: list[str]) -> tuple[str, Path | None]:
    """The format and file of `export csv out.csv`, `export out.json`, `export --format csv FILE`, `export json`."""
    words = list(what)
    if words and words[0].casefold() in FORMATS:
        form = form or words.pop(0).casefold()
    if len(words) > 1:
        parser.error(f"history export takes a format and one file, got {' '.join(what)!r}: "
                     "e.g. history export csv history.csv")
    file = Path(words[0]) if words else None
    if form is None and file is not None and file.suffix.casefold().lstrip(".") in FORMATS:
        form = file.suffix.casefold().lstrip(".")
    if form is None:
        parser.error("say which format to export: history export csv [FILE] or history export json [FILE]")
    return form, file


def main(argv: list[str]) -> int:
    """Run the history command; return the exit code (argparse exits 2 for bad arguments)."""
    parser = _parser()
    args = parser.parse_args(argv)
    target = _export_target(parser, args.format, args.what) if args.command == "export" else None
    path = args.db or history_path()
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")  # CJK on a cp1252 console or a C locale
    store = HistoryStore(path)
    try:
        if target is not None:
            entries = store.recent(0)
            form, file = target
            if file is None:
                _write(entries, form, sys.stdout)
            else:
                file.parent.mkdir(parents=True, exist_ok=True)
                # utf-8-sig for CSV: Excel on Windows reads CJK in a CSV only with the byte-order mark.
                with file.open("w", newline="", encoding="utf-8-sig" if form == "csv" else "utf-8") as handle:
                    _write(entries, form, handle)
                sys.stderr.write(f"wrote {len(entries)} entries to {file}\n")
            return 0
        entries = store.recent(args.limit, args.search)
        total = len(store.recent(1)) if not entries else 0
    finally:
        store.close()
    if args.json:
        sys.stdout.write(to_json(entries) + "\n")
    elif not entries:
        # A silent empty answer looked like a broken command.
        sys.stdout.write(f"no match for {args.search!r} in the history ({path})\n" if args.search and total else
                         f"the history is empty ({path}): finals are kept there as you dictate\n")
    else:
        for entry in entries:
            sys.stdout.write(_line(entry) + "\n")
    return 0


def _line(entry: HistoryEntry) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.time))
    latency = f"{entry.latency_s * 1000:.0f} ms" if entry.latency_s is not None else "-"
    where = entry.target_app or "?"
    return f"{stamp}  {latency:>7}  {where:<12}  {entry.text}"


def _write(entries: list[HistoryEntry], form: str, handle: TextIO) -> None:
    if form == "json":
        handle.write(to_json(entries) + "\n")
        return
    writer = csv.writer(handle, lineterminator="\n" if handle is sys.stdout else "\r\n")
    names = [f.name for f in fields(HistoryEntry)]
    writer.writerow(names)
    for entry in entries:
        writer.writerow([_iso_local(entry.time) if name == "time" else getattr(entry, name) for name in names])


def _iso_local(stamp: float) -> str:
    """ISO 8601 in local time with its offset: readable, sortable, and a spreadsheet parses it."""
    return datetime.datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")
