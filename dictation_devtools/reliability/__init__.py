"""The reliability harness: a dictation with known words, a tape-playing mic, a fault proxy, and the fault runs
(kill, stall, cut, decode error, lost mic) that tests/reliability and scripts/soak_faults.py run."""
