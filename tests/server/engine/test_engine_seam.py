"""The seam between sessions and engines: both engines implement the one `Engine` protocol, the server never asks
which engine it has, the token check has one owner, and the sample rate one definition."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np

from asr_server.engine.base import DecodeRequest, Engine
from asr_server.engine.dispatcher import EngineDispatcher
from asr_server.scheduler import InferenceWorker

REPO_ROOT = Path(__file__).resolve().parents[3]


def protocol_members(protocol: type) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")}


def test_both_engines_implement_every_member_of_the_protocol_with_its_parameters():
    for engine in (InferenceWorker, EngineDispatcher):
        for name in protocol_members(Engine):
            member = getattr(engine, name, None)
            if member is None:  # a plain attribute set in __init__ (EngineDispatcher.reachable)
                assert name in inspect.getsource(engine.__init__), f"{engine.__name__} lacks {name}"
                continue
            wanted = getattr(Engine, name)
            if callable(wanted) and not isinstance(wanted, property):
                assert list(inspect.signature(member).parameters) == list(inspect.signature(wanted).parameters), \
                    f"{engine.__name__}.{name} takes other parameters than Engine.{name}"


def test_a_request_is_frozen_and_promoting_it_makes_a_new_final_that_keeps_its_place():
    partial = DecodeRequest(label="s", context="c", language=None, audio=np.zeros(3, np.float32), prefix_raw="p",
                            rollback_tokens=5, urgent=False)
    audio = np.ones(8, np.float32)
    final = partial.as_final(audio)
    assert final.urgent and final.audio is audio and final.submitted_at == partial.submitted_at
    assert (final.context, final.prefix_raw, final.rollback_tokens) == ("c", "p", 5)
    assert not partial.urgent and len(partial.audio) == 3, "the partial itself is unchanged"


def calls_in(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Call)]


def test_the_server_does_not_switch_on_its_engine():
    server = REPO_ROOT / "asr_server" / "server.py"
    switches = [ast.unparse(call) for call in calls_in(server)
                if isinstance(call.func, ast.Name) and call.func.id == "isinstance"
                and any(word in ast.unparse(call) for word in ("_worker", "Engine", "InferenceWorker", "engine"))]
    assert switches == []


def test_only_the_entry_point_imports_the_server_module():
    """server.py is the top of the server: a module below it that needs something of it (transcriptions.py needed
    the token check, imported inside a function to dodge the cycle) takes it from the module that owns it."""
    importers = []
    for path in sorted((REPO_ROOT / "asr_server").rglob("*.py")):
        if path.name in ("__main__.py", "__init__.py", "server.py"):  # the entry point and the package face
            continue
        importers += [path.name for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                      if isinstance(node, ast.ImportFrom) and node.module == "asr_server.server"]
    assert importers == []


def test_the_sample_rate_is_defined_once_in_the_protocol():
    definitions = []
    for folder in ("asr_server", "tray_client", "dictation_devtools", "dictation_core"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value == 16000:
                    definitions.append(f"{path.relative_to(REPO_ROOT)}: {ast.unparse(node)}")
    assert definitions == ["dictation_core/protocol.py: SAMPLE_RATE = 16000"]


def test_the_programs_and_dev_tools_have_no_literal_16000():
    literals = []
    for folder in ("asr_server", "tray_client", "dictation_devtools"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            literals += [f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
                         for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                         if isinstance(node, ast.Constant) and node.value == 16000]
    assert literals == []
