"""The configuration reference's tables (docs/configuration.md), generated from the settings dataclasses so they
cannot drift.

    python -m dictation_devtools.readme_tables           # rewrite the tables in docs/configuration.md
    python -m dictation_devtools.readme_tables --check   # exit 1 if docs/configuration.md is out of date

Each table sits between `<!-- config table: PROGRAM -->` and `<!-- end of config table -->`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from dictation_core.config import ConfigLoader

README = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"  # where the tables live
_TABLE = re.compile(r"(<!-- config table: (?P<name>[a-z_]+) -->\n)(?P<table>.*?)(<!-- end of config table -->)",
                    re.DOTALL)


def loaders() -> dict[str, ConfigLoader]:
    """Each program's config loader, by the name its README table is marked with."""
    from asr_server.config import LOADER as SERVER
    from tray_client.config import LOADER as CLIENT

    return {"asr_server": SERVER, "tray_client": CLIENT}


def updated(readme: str) -> str:
    """`readme` with every marked table replaced by the one its loader generates."""
    tables = loaders()
    found = {match["name"] for match in _TABLE.finditer(readme)}
    if found != set(tables):
        raise ValueError(f"README marks config tables for {sorted(found)}, expected {sorted(tables)}")
    return _TABLE.sub(lambda match: match[1] + tables[match["name"]].readme_table() + match[4], readme)


def main(argv: list[str] | None = None) -> int:
    """Rewrite docs/configuration.md's config tables, or with --check report whether they are current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    fresh = updated(text)
    if args.check:
        if fresh != text:
            print("docs/configuration.md's config tables are out of date: run "
                  "python -m dictation_devtools.readme_tables",
                  file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
