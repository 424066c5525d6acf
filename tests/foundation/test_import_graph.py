"""The product's import graph: no cycle, and no room imports a room above it.

A room is a subpackage (`tray_client/text/`) or a top-level module (`tray_client/pipeline.py`). LAYERS below lists
the rooms of each program from the bottom up, as the code stands; docs/architecture.md explains them. An import
counts whether it sits at the top of a module or inside a function (a lazy import still ties the two rooms
together); an import under `if TYPE_CHECKING:` does not (it never runs, and names a type, not a dependency).

A new module must belong to a room: add its room to LAYERS where its imports put it (a failure here says which).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("dictation_core", "tray_client", "asr_server")

# Bottom first. A room may import rooms of its own layer or any layer below it, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    # Shared pure code under both programs.
    ("dictation_core",),
    # --- the server
    # Foundations: settings, errors, limits, counters; and the audio helpers of the HTTP endpoint.
    ("asr_server.errors", "asr_server.config", "asr_server.log_limit", "asr_server.metrics", "asr_server.budget",
     "asr_server.origin", "asr_server.audio_decode", "asr_server.audio_windows", "asr_server.auth",
     "asr_server.gpu_budget"),
    # The Engine protocol and the frozen types that cross it: below everything that submits or serves a decode.
    ("asr_server.engine.base",),
    # The models (transformers, the scripted stand-in) and what they return.
    ("asr_server.backends",),
    # Streaming decode: partial/final text, the in-process batching scheduler, its fair share and speculation.
    ("asr_server.streaming", "asr_server.scheduler", "asr_server.fair_share", "asr_server.speculation"),
    # Engines: the Engine protocol (engine/base.py) and the HTTP (vLLM) dispatcher.
    ("asr_server.engine",),
    # One client's session: audio in, decode requests out, messages back; its per-stream bookkeeping and its
    # throttled error replies.
    ("asr_server.session", "asr_server.utterances", "asr_server.error_replies"),
    # The front doors: the WebSocket connection and the HTTP upload endpoint.
    ("asr_server.connection", "asr_server.http_upload", "asr_server.transcriptions"),
    # Composition and the command line.
    ("asr_server.server",),
    ("asr_server", "asr_server.__main__"),
    # --- the client
    # Foundations: events, the hub that carries them, thread supervision, Win32 key codes.
    ("tray_client.events", "tray_client._hub", "tray_client._supervise", "tray_client._win32_keys",
     "tray_client._memory"),
    # The OS edges: typing and the clipboard, the focused window, global hotkeys.
    ("tray_client.sinks", "tray_client.desktop", "tray_client.hotkeys"),
    ("tray_client.undo",),
    # The text stage: a final becomes the text to type for the app that has the focus.
    ("tray_client.text",),
    # The settings (they are checked by the text and sink modules that use them), and logging set up from them.
    # keep.py says where every kind of kept audio lies (from the settings).
    ("tray_client.config", "tray_client.logs", "tray_client.keep"),
    # The data path's rooms: microphone and VAD, the server link, the history; and the features beside it that
    # the tray wires in: pausing media while you speak, editing a selection by voice.
    ("tray_client.capture", "tray_client.link", "tray_client.history", "tray_client.media", "tray_client.voice_edit"),
    # The runtime that wires them: the pipeline and the delivery of finals, recovery, kept audio, state.
    ("tray_client.untranscribed", "tray_client.recovery", "tray_client.delivery", "tray_client.state",
     "tray_client.pipeline", "tray_client.headless", "tray_client.startup", "tray_client.port",
     "tray_client.leftovers", "tray_client.output_jobs"),
    # The settings model both faces edit through (the web app's Settings page and the tray's live apply).
    ("tray_client.ui.settings.model",),
    # The faces: the browser settings app, then the tray UI that launches it.
    ("tray_client.webapp",),
    ("tray_client.ui",),
    ("tray_client", "tray_client.__main__"),
)

# Known exceptions, each with the change that removes it. Keep this list short; never add to it to pass a test.
EXCEPTIONS = {
    # `open diagnostics` from a terminal builds the tray's diagnostics report, which reads the tray's own
    # intents; moving the report below both faces needs its intents split from the tray's (a later step).
    ("tray_client.webapp.launch", "tray_client.ui.tray.diagnostics"),
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.imported}"


@cache
def modules() -> dict[str, Path]:
    """Every product module by its dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _owner(name: str) -> str | None:
    """The product module that defines `name` (a module, or a name inside one); None for third-party code."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return skipped


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = importer.split(".")[: len(importer.split(".")) - node.level + (1 if is_package else 0)]
        base = ".".join(parts + ([node.module] if node.module else []))
    # `from package import submodule` imports the submodule; `from module import name` imports the module.
    submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules()]
    return submodules if len(submodules) == len(node.names) else [*submodules, base]


@cache
def imports() -> tuple[Import, ...]:
    """Every import from one product module of another, lazy ones included, TYPE_CHECKING ones left out."""
    found = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, name, path.name == "__init__.py"):
                owner = _owner(target)
                if owner is not None and owner != name:
                    found.append(Import(name, owner, node.lineno))
    return tuple(found)


def room_of(module: str) -> str | None:
    """The longest room in LAYERS that contains the module."""
    rooms = [room for layer in LAYERS for room in layer if module == room or module.startswith(room + ".")]
    return max(rooms, key=len, default=None)


def layer_of(room: str) -> int:
    return next(index for index, layer in enumerate(LAYERS) if room in layer)


def counted_imports() -> Iterator[Import]:
    return (edge for edge in imports() if (edge.importer, edge.imported) not in EXCEPTIONS)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_product_module_belongs_to_a_room():
    homeless = sorted(name for name in modules() if room_of(name) is None)
    assert homeless == [], f"add these to a room in LAYERS ({__file__}): {homeless}"


def test_no_module_import_cycle():
    edges: dict[str, set[str]] = {}
    for edge in counted_imports():
        edges.setdefault(edge.importer, set()).add(edge.imported)
    assert cycles(edges) == []


def test_no_room_import_cycle():
    edges: dict[str, set[str]] = {}
    for edge in counted_imports():
        importer, imported = room_of(edge.importer), room_of(edge.imported)
        if importer and imported and importer != imported:
            edges.setdefault(importer, set()).add(imported)
    assert cycles(edges) == []


def test_no_room_imports_a_room_above_it():
    upward = []
    for edge in counted_imports():
        importer, imported = room_of(edge.importer), room_of(edge.imported)
        if importer and imported and layer_of(imported) > layer_of(importer):
            upward.append(f"{edge} (room {importer} is below room {imported})")
    assert upward == []


def test_the_programs_import_each_other_not_at_all():
    crossing = [str(edge) for edge in imports() if edge.importer.split(".")[0] != edge.imported.split(".")[0]
                and edge.imported.split(".")[0] != "dictation_core"]
    assert crossing == []


def test_the_exceptions_still_exist():
    """An exception whose import is gone must leave the list, so the list only ever shrinks."""
    present = {(edge.importer, edge.imported) for edge in imports()}
    assert sorted(EXCEPTIONS - present) == []


def test_the_graph_sees_lazy_imports_and_skips_type_only_ones():
    """The two kinds of import the rules depend on, checked on code that has them today."""
    pairs = {(edge.importer, edge.imported) for edge in imports()}
    assert ("asr_server.engine.dispatcher", "asr_server.backends.qwen_common") in pairs  # inside a function
    assert ("tray_client.text.profiles", "tray_client.config") not in pairs  # under TYPE_CHECKING
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
