"""The one config loader (dictation_core.config): types from annotations, TOML then flags, --help, README."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from dictation_core.config import ConfigError, ConfigLoader, setting_doc
from dictation_devtools import readme_tables


class ToyError(ConfigError):
    """A program's own error class, as asr_server has."""


@dataclass(frozen=True)
class Toy:
    name: str = field(default="x", metadata=setting_doc("A name with 80% of a percent sign."))
    count: int = field(default=3, metadata=setting_doc("How many."))
    ratio: float = field(default=0.5, metadata=setting_doc("How much."))
    fast: bool = field(default=False, metadata=setting_doc("Go fast.", persist=False))
    no_tray: bool = field(default=False, metadata=setting_doc("No tray."))
    device: str | int | None = field(default=None, metadata=setting_doc("Name or index."))
    label: str | None = field(default=None, metadata=setting_doc("Optional label."))
    config_file: str | None = field(default=None, metadata=setting_doc("TOML file.", persist=False))


LOADER = ConfigLoader(Toy, prog="toy", description="A toy program.", error=ToyError,
                      flags={"config_file": "--config"})


def load(argv: list[str], default_file: Path | None = None) -> Toy:
    return Toy(**LOADER.values(argv, default_file=default_file))


def test_flags_are_typed_by_the_annotations():
    toy = load(["--name", "y", "--count", "7", "--ratio", "2", "--fast", "--device", "2", "--label", ""])
    assert (toy.name, toy.count, toy.ratio, toy.fast, toy.device, toy.label) == ("y", 7, 2.0, True, 2, None)
    assert load(["--device", "USB Mic"]).device == "USB Mic"
    assert load([]) == Toy()


def test_boolean_flags_come_in_pairs_and_no_prefixes_flip():
    assert load(["--fast", "--no-fast"]).fast is False
    assert load(["--no-tray"]).no_tray is True and load(["--tray"]).no_tray is False


def test_the_file_then_the_flags_override_the_defaults(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text('name = "from file"\ncount = 5\nfast = true\ndevice = 1\n', encoding="utf-8")
    toy = load(["--config", str(path), "--count", "6"])
    assert (toy.name, toy.count, toy.fast, toy.device) == ("from file", 6, True, 1)
    assert load([], default_file=path).name == "from file", "the default file is read when it exists"
    assert load([], default_file=tmp_path / "absent.toml") == Toy(), "and skipped when it does not"


@pytest.mark.parametrize(("argv", "toml", "says"), [
    (["--count", "many"], None, r"count='many' \(--count\): expected int"),
    (["--count", "2.5"], None, "expected int"),
    (["--ratio", "lots"], None, "expected float"),
    ([], "count = true\n", "expected int"),
    ([], "fast = 'maybe'\n", "expected bool"),
    ([], "colour = 'red'\n", r"unknown setting\(s\) colour; known: config_file, count"),
    ([], "name = \n", "not valid TOML"),
])
def test_bad_values_raise_the_programs_error_naming_the_setting(tmp_path, argv, toml, says):
    if toml is not None:
        path = tmp_path / "toy.toml"
        path.write_text(toml, encoding="utf-8")
        argv = [*argv, "--config", str(path)]
    with pytest.raises(ToyError, match=says):
        load(argv)


def test_a_named_file_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(ToyError, match=r"--config .*no such file"):
        load(["--config", str(tmp_path / "absent.toml")])


def test_help_shows_every_flag_with_its_default_even_with_a_percent_sign():
    text = LOADER.help_text()
    for flag in ("--name", "--count", "--ratio", "--fast", "--no-tray", "--device", "--config"):
        assert flag in text
    assert "80% of a percent sign. (default: \"x\")" in " ".join(text.split())


def test_toml_written_out_loads_back_and_skips_run_time_settings(tmp_path):
    toy = Toy(name='say "hi"\\', count=9, fast=True, label="a\nb", device=4)
    path = tmp_path / "saved.toml"
    path.write_text(LOADER.to_toml(toy, persisted_only=True), encoding="utf-8")
    assert load(["--config", str(path)]) == Toy(name='say "hi"\\', count=9, label="a\nb", device=4,
                                                config_file=str(path))
    assert "fast" in LOADER.to_toml(toy) and "fast" not in LOADER.to_toml(toy, persisted_only=True)


def test_replace_coerces_and_refuses_unknown_settings():
    assert LOADER.replace(Toy(), count="4", fast="yes") == Toy(count=4, fast=True)
    with pytest.raises(ToyError, match="unknown setting"):
        LOADER.replace(Toy(), colour="red")


def test_unsupported_field_types_are_named():
    @dataclass(frozen=True)
    class Odd:
        items: list[str] = field(default_factory=list, metadata=setting_doc("Items."))

    with pytest.raises(TypeError, match=r"Odd.items: list\[str\]"):
        ConfigLoader(Odd, prog="odd", description="").parser()


def test_readme_table_rows():
    table = LOADER.readme_table().splitlines()
    assert table[2] == '| `--name` (`name`) | `"x"` | A name with 80% of a percent sign. |'
    assert "| `--fast` / `--no-fast` (`fast`) | `false` | Go fast. |" in table
    assert "| `--no-tray` / `--tray` (`no_tray`) | `false` | No tray. |" in table
    assert "| `--config` (`config_file`) | unset | TOML file. |" in table


def test_the_readme_tables_are_the_generated_ones():
    """Add a setting, then run `python -m dictation_devtools.readme_tables` to rewrite docs/configuration.md's tables."""
    readme = readme_tables.README.read_text(encoding="utf-8")
    assert readme_tables.updated(readme) == readme, \
        "docs/configuration.md's config tables are out of date: run python -m dictation_devtools.readme_tables"


@dataclass(frozen=True)
class Tables:
    replacements: dict[str, str] = field(default_factory=dict, metadata=setting_doc("Words to replace."))
    profiles: dict[str, Any] = field(default_factory=dict, metadata=setting_doc("Per-app settings."))
    apps: tuple[str, ...] = field(default=(), metadata=setting_doc("App names."))
    name: str = field(default="x", metadata=setting_doc("A plain key."))
    config_file: str | None = field(default=None, metadata=setting_doc("TOML file.", persist=False))


TABLES = ConfigLoader(Tables, prog="tables", description="", error=ToyError, flags={"config_file": "--config"})


def test_tables_and_lists_come_from_toml_or_json_flags_and_write_back_as_tables(tmp_path):
    settings = Tables(replacements={"teh": "the", "引号": "「」"}, profiles={"code.exe": {"output": "clipboard"}},
                      apps=("code.exe", "记事本"), name="y")
    path = tmp_path / "tables.toml"
    path.write_text(TABLES.to_toml(settings, persisted_only=True), encoding="utf-8")
    assert Tables(**TABLES.values(["--config", str(path)])) == replace(settings, config_file=str(path))
    text = path.read_text(encoding="utf-8")
    assert text.index('name = "y"') < text.index("[replacements]"), "plain keys before the first [table]"
    flags = TABLES.values(["--replacements", '{"a": "b"}', "--apps", '["x"]', "--profiles", ""])
    assert (flags["replacements"], flags["apps"], flags["profiles"]) == ({"a": "b"}, ("x",), {})


@pytest.mark.parametrize(("flag", "value"), [("--replacements", '{"a": 1}'), ("--replacements", "[1]"),
                                             ("--apps", '["x", 2]'), ("--apps", "{not json")])
def test_malformed_tables_name_the_setting(flag, value):
    with pytest.raises(ToyError, match=flag):
        TABLES.values([flag, value])
