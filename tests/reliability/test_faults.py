"""Fault injection end to end (issue 7), quick versions: every utterance output exactly once, as in a clean run.

The full versions (twenty kills, a 10 s stall, default mic timings) are `scripts/soak_faults.py`; its figures are
in RELIABILITY.md. Each test compares the faulty run's output lines with a clean run's, in order and count, so a
lost, doubled or reordered utterance fails it; and each checks that its fault really hit an utterance in flight.
"""

from __future__ import annotations

import pytest

from dictation_devtools.reliability.dictation import Dictation
from dictation_devtools.reliability.mic import MicRun, mic_run
from dictation_devtools.reliability.runs import RunResult, clean_run, decode_error_run, kill_run, proxy_run
from tray_client.events import ClientState
from tray_client.link import driver as link_module

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def clean6(dictation6: Dictation, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The reference: the same dictation through the same server, with no fault."""
    result = clean_run(dictation6, tmp_path_factory.mktemp("clean6"))
    assert result.exit_code == 0, result.describe()
    # The reference is meaningful only if it is right: one line per phrase, in order.
    assert result.lines == dictation6.texts, result.describe()
    return result


def assert_same_output(run: RunResult, clean: RunResult) -> None:
    assert run.exit_code == 0, run.describe()
    assert run.lines == clean.lines, run.describe()
    assert (run.duplicates, run.losses) == (0, 0)


def test_server_sigkilled_and_restarted_inside_five_utterances_outputs_each_once(dictation6, clean6, tmp_path):
    run = kill_run(dictation6, tmp_path, kills=5)
    assert len(run.faults) == 5, run.describe()
    assert all(fault.in_flight for fault in run.faults), "every kill must land inside an utterance"
    assert_same_output(run, clean6)
    assert run.recoveries == 5, run.describe()
    assert run.client_log.count("replaying") >= 6  # the first connection and one per restart
    # Each restart is found again within the link's longest backoff; a backoff that keeps growing across
    # restarts (it did: 3 s from the fourth kill on) fails here.
    assert run.max_recovery_s < link_module.BACKOFF_MAX_S, [fault.recovered_s for fault in run.faults]


def test_proxy_stall_then_cuts_lose_and_double_nothing(dictation6, clean6, tmp_path):
    run = proxy_run(dictation6, tmp_path, stall_s=3.0, cuts=2)
    assert [fault.kind for fault in run.faults] == ["stall", "cut", "cut"], run.describe()
    assert all(fault.in_flight for fault in run.faults), "every fault must land inside an utterance"
    assert_same_output(run, clean6)
    assert run.recoveries == 3, run.describe()


def test_decode_error_on_one_utterance_is_replayed_once_and_output_once(dictation6, clean6, tmp_path):
    run = decode_error_run(dictation6, tmp_path, phrase_index=1)
    assert "injected decode failure" in run.server_log, "the fault should have fired"
    assert_same_output(run, clean6)
    assert run.client_log.count("sending the utterance again") == 1, run.describe()
    assert "giving up" not in run.client_log


@pytest.fixture(scope="module")
def clean_mic(dictation3: Dictation) -> MicRun:
    result = mic_run(dictation3, name="clean")
    assert result.lines == dictation3.texts, result
    return result


@pytest.mark.parametrize("where", ["between_utterances", "mid_utterance"])
def test_microphone_unplugged_shows_error_then_recovers_and_types_nothing_twice(dictation3, clean_mic, where):
    phrases = dictation3.sample.phrases
    if where == "between_utterances":
        unplug_at, resume_at = (phrases[0].end_s + phrases[1].start_s) / 2, None
    else:
        # 60% into the second phrase: the cut utterance is finalised with what was heard (its words are
        # recognisable), the rest of the phrase is said while the mic is gone, and the tape resumes before the
        # third phrase.
        unplug_at = phrases[1].start_s + 0.6 * (phrases[1].end_s - phrases[1].start_s)
        resume_at = phrases[2].start_s - 0.5
    run = mic_run(dictation3, name=where, unplug_at_s=unplug_at, resume_at_s=resume_at, outage_s=1.5,
                  stall_timeout_s=0.5, retry_s=0.3)
    assert run.state_while_gone is ClientState.ERROR, run
    assert run.error_details and "stopped delivering audio" in run.error_details[0], run
    assert run.error_notices == 1, run  # told once, not on every retry
    assert run.recovered_s is not None and run.opens == 2, run
    assert run.lines == clean_mic.lines, run
    assert len(set(run.final_ids)) == len(run.final_ids) == len(clean_mic.lines), run
