"""One loader for both programs' settings: a frozen dataclass becomes CLI flags, TOML keys, `--help` text and the
README's configuration table.

Each program declares its settings where they belong (`asr_server/config.py`, `tray_client/config.py`) as
dataclass fields with `metadata=setting_doc("...")`, validates them in `__post_init__`, and describes itself
with a `ConfigLoader`. Every field is a TOML key and a flag (`min_silence_ms` -> `--min-silence-ms`; booleans as
`--fast` / `--no-fast`, and `no_tray` as `--no-tray` / `--tray`). The CLI wins over the file, the file over the
defaults. Field types are read from the annotations: bool, int, float, str, and unions of them with None; and the
tables and lists `dict[str, str]`, `dict[str, Any]` and `tuple[str, ...]` (TOML tables and arrays; JSON on the
command line; written back as [tables] after the plain keys).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_KINDS = {"bool", "int", "float", "str", "None"}
_STRUCTURES = {"dict[str, str]", "dict[str, Any]", "tuple[str, ...]"}


class ConfigError(ValueError):
    """A setting is invalid; the message names the key and flag, the bad value and what is allowed."""


def setting_doc(text: str, *, persist: bool = True) -> dict[str, Any]:
    """Field metadata: the documentation shown in --help and the README, and whether the client saves it."""
    return {"doc": text, "persist": persist}


@dataclass(frozen=True)
class ConfigLoader:
    """How one program's settings dataclass is read from TOML and the command line, and documented."""

    config_class: type
    prog: str
    description: str
    epilog: str = ""
    error: type[Exception] = ConfigError  # the program's own ConfigError (a subclass of this module's)
    flags: Mapping[str, str] = field(default_factory=dict)  # field name -> flag, where not the derived one
    file_field: str = "config_file"

    # -- names and types ------------------------------------------------------------------------------------

    def flag(self, name: str) -> str:
        """The CLI flag of a field: `--min-silence-ms` for `min_silence_ms` unless `flags` says otherwise."""
        return self.flags.get(name) or "--" + name.replace("_", "-")

    def negative_flag(self, name: str) -> str:
        """The flag that sets a boolean field to false: `--no-fast`, and `--tray` for `no_tray`."""
        flag = self.flag(name)
        return "--" + flag[5:] if flag.startswith("--no-") else "--no-" + flag[2:]

    def kinds(self, name: str) -> set[str]:
        """The types a field accepts, from its annotation text (`"str | int | None"` -> {"str", "int", "None"})."""
        annotation = self._fields()[name].type
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
        if text in _STRUCTURES:
            return {text}
        kinds = {part.strip() for part in text.split("|")}
        if not kinds <= _KINDS:
            raise TypeError(f"{self.config_class.__name__}.{name}: {text} is not a type the config loader reads; "
                            f"use bool, int, float, str or a union of them with None")
        return kinds

    def coerce(self, name: str, value: Any) -> Any:
        """A TOML or CLI value as the field's type, or the program's ConfigError naming the key and flag."""
        if value is None:
            return None
        kinds = self.kinds(name)
        try:
            return _coerce_structure(kinds.pop(), value) if kinds & _STRUCTURES else _coerce(kinds, value)
        except (TypeError, ValueError) as error:
            expected = " or ".join(sorted(kinds - {"None"}))
            raise self.error(f"{name}={value!r} ({self.flag(name)}): expected {expected}") from error

    # -- reading --------------------------------------------------------------------------------------------

    def parser(self) -> argparse.ArgumentParser:
        """Every field as a flag, with its documentation and default in --help."""
        parser = argparse.ArgumentParser(prog=self.prog, description=self.description, epilog=self.epilog or None)
        for f in self._fields().values():
            # argparse treats help as a %-format string: a literal "80%" in a doc must be escaped.
            default = "unset" if _default(f) is None else toml_value(_default(f))
            help_text = f"{f.metadata['doc']} (default: {default})".replace("%", "%%")
            if self.kinds(f.name) == {"bool"}:
                parser.add_argument(self.flag(f.name), dest=f.name, action="store_const", const=True,
                                    default=None, help=help_text)
                parser.add_argument(self.negative_flag(f.name), dest=f.name, action="store_const", const=False,
                                    default=None, help=argparse.SUPPRESS)
            else:
                parser.add_argument(self.flag(f.name), dest=f.name, default=None, metavar=f.name.upper(),
                                    help=help_text)
        return parser

    def help_text(self) -> str:
        """The `--help` text."""
        return self.parser().format_help()

    def read_toml(self, path: Path) -> dict[str, Any]:
        """The settings in a TOML file, each coerced; unknown keys are refused with the list of known ones."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise self.error(f"{self.flag(self.file_field)} {path}: cannot read it ({error.strerror})") from error
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise self.error(f"{path}: not valid TOML ({error}); fix or delete the file") from error
        known = self._fields()
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise self.error(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))} "
                             f"(see {self.prog} --help)")
        return {key: self.coerce(key, value) for key, value in data.items()}

    def values(self, argv: list[str] | None, *, default_file: Path | None = None) -> dict[str, Any]:
        """Defaults left out, then the TOML file (the file flag, else `default_file` if it exists), then flags."""
        args = vars(self.parser().parse_args(sys.argv[1:] if argv is None else argv))
        overrides = {key: self.coerce(key, value) for key, value in args.items() if value is not None}
        chosen = overrides.get(self.file_field)
        path = Path(chosen).expanduser() if chosen else default_file
        if chosen and not path.exists():
            raise self.error(f"{self.flag(self.file_field)} {path}: no such file")
        values = self.read_toml(path) if path is not None and path.exists() else {}
        values.update(overrides)
        return values

    def replace(self, config: Any, **changes: Any) -> Any:
        """`dataclasses.replace` with the loader's coercion and the dataclass's checks (settings changed live)."""
        unknown = sorted(set(changes) - set(self._fields()))
        if unknown:
            raise self.error(f"unknown setting(s) {', '.join(unknown)}")
        return dataclasses.replace(config, **{key: self.coerce(key, value) for key, value in changes.items()})

    # -- writing --------------------------------------------------------------------------------------------

    def to_toml(self, config: Any, *, persisted_only: bool = False) -> str:
        """The settings as TOML text (unset values are written as comments, since TOML has no null)."""
        lines: list[str] = []
        tables: list[str] = []  # TOML puts every key after a [table] header into that table: tables go last
        for f in self._fields().values():
            if persisted_only and not f.metadata.get("persist", True):
                continue
            value = getattr(config, f.name)
            target = tables if isinstance(value, dict) else lines
            target.append(f"# {f.metadata['doc']}")
            if value is None:
                target.append(f"# {f.name} = ...")
            else:
                target.extend(_toml_table(f.name, value) if isinstance(value, dict) else
                              [f"{f.name} = {toml_value(value)}"])
        return "\n".join(lines + tables) + "\n"

    def readme_table(self) -> str:
        """The README's configuration table (checked by a test; `python -m dictation_devtools.readme_tables` rewrites it)."""
        rows = ["| Flag (TOML key) | Default | What it does |", "|---|---|---|"]
        for f in self._fields().values():
            flag = f"`{self.flag(f.name)}`"
            if self.kinds(f.name) == {"bool"}:
                flag += f" / `{self.negative_flag(f.name)}`"
            doc = f.metadata["doc"].replace("|", "\\|")
            default = "unset" if _default(f) is None else f"`{toml_value(_default(f))}`"
            rows.append(f"| {flag} (`{f.name}`) | {default} | {doc} |")
        return "\n".join(rows) + "\n"

    def _fields(self) -> dict[str, dataclasses.Field[Any]]:
        return {f.name: f for f in fields(self.config_class)}


def _coerce(kinds: set[str], value: Any) -> Any:
    if "bool" in kinds:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(value)
    if isinstance(value, bool):  # TOML `true` for a number or text is a mistake, not 1
        raise TypeError(value)
    text = str(value).strip()
    if "int" in kinds:
        if isinstance(value, int):
            return value
        if text.lstrip("+-").isdigit() or not kinds & {"str", "float"}:
            return int(text)  # "str | int": a number is a device index, any other text a name
    if "float" in kinds:
        return float(value)
    if "None" in kinds and str(value) == "":
        return None
    return str(value)


def _default(f: dataclasses.Field[Any]) -> Any:
    """A field's default, also where it is made by a factory (tables: a dict default cannot be shared)."""
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _coerce_structure(kind: str, value: Any) -> Any:
    """A table or list setting: from TOML as it is, from the command line as JSON text."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else ([] if kind.startswith("tuple") else {})
    if kind.startswith("tuple"):
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
            raise TypeError(value)
        return tuple(value)
    if not isinstance(value, dict):
        raise TypeError(value)
    if kind == "dict[str, str]":
        if not all(isinstance(item, str) for item in value.values()):
            raise TypeError(value)
        return dict(value)
    return {str(key): item for key, item in value.items()}


def _toml_table(name: str, table: dict[str, Any]) -> list[str]:
    """`[name]` with its keys; a table of tables as one `[name."key"]` per entry."""
    if table and all(isinstance(item, dict) for item in table.values()):
        lines = []
        for key, item in table.items():
            lines.append(f"[{name}.{toml_value(key)}]")
            lines.extend(f"{toml_value(k)} = {toml_value(v)}" for k, v in item.items())
        return lines
    return [f"[{name}]", *(f"{toml_value(key)} = {toml_value(item)}" for key, item in table.items())]


def toml_value(value: object) -> str:
    """A value written as TOML (strings quoted and escaped; lists and tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_value(key)} = {toml_value(item)}" for key, item in value.items()) + "}"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'

