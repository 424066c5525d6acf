"""The UI drives the runtime only through `PipelinePort`: the real pipeline and the tests' stand-in both have
every member of it with its signature, so a fake cannot drift from what the tray may call."""

from __future__ import annotations

import inspect

import pytest

from tests.client.ui.test_tray_controller import StandInPipeline
from tray_client.pipeline import Pipeline
from tray_client.port import PipelinePort

MEMBERS = sorted(name for name in vars(PipelinePort) if not name.startswith("_"))


def _signature(owner: type, name: str) -> str:
    member = inspect.getattr_static(owner, name)
    if isinstance(member, property):
        return f"property -> {inspect.signature(member.fget).return_annotation}"
    return str(inspect.signature(member))


def test_the_port_names_what_the_tray_uses():
    assert MEMBERS == ["config", "flush_audio", "retype", "run_output", "send", "shutdown", "start", "subscribe",
                       "undo_last", "update_settings", "use_instructions", "use_undo"]


@pytest.mark.parametrize("implementation", [Pipeline, StandInPipeline])
@pytest.mark.parametrize("name", MEMBERS)
def test_each_implementation_has_the_ports_signature(implementation, name):
    assert _signature(implementation, name) == _signature(PipelinePort, name)
