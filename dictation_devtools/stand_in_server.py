"""The real asr_server in its own process with a stand-in backend, for kill/restart tests and benchmarks.

    python -m dictation_devtools.stand_in_server --phrases P.npz [--cost-scale F] [--cost-model NAME]
                                              [--final-delay-s S] [--fail-once TEXT] -- FLAGS

FLAGS are asr_server's own (`--port`, `--max-sessions`, ...). `--phrases` selects the ScriptedBackend (known
words), otherwise the ModelledBackend. `--final-delay-s S` makes every decode step take S seconds (a final
still on its way while the user does something: the Windows lane's menu-during-a-final journey). `--fail-once TEXT` makes the first decode whose words contain TEXT raise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asr_server.__main__ import main as server_main
from asr_server.backends.base import Backend, DecodeItem
from asr_server.config import ServerConfig
from dictation_devtools.stand_in_backends import COST_MODELS, CostModel, ModelledBackend, ScriptedBackend


def _with_one_failure(backend: Backend, text: str) -> Backend:
    real = backend.generate
    state = {"failed": False}

    def generate(items: list[DecodeItem]) -> list[str]:
        outputs = real(items)
        if not state["failed"] and any(text in output for output in outputs):
            state["failed"] = True
            raise RuntimeError(f"injected decode failure for the utterance saying {text!r}")
        return outputs

    backend.generate = generate  # type: ignore[method-assign]
    return backend


def main(argv: list[str] | None = None) -> int:
    """Parse our options, then asr_server's, and serve."""
    argv = sys.argv[1:] if argv is None else argv
    ours, _, theirs = _split(argv)
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrases", type=Path)
    parser.add_argument("--cost-scale", type=float, default=0.0)
    parser.add_argument("--cost-model", choices=sorted(COST_MODELS), default="backend",
                        help="backend: the transformers backend on CUDA; engine: the modelled engine's GPU")
    parser.add_argument("--final-delay-s", type=float, default=0.0)
    parser.add_argument("--fail-once")
    options = parser.parse_args(ours)
    cost = COST_MODELS[options.cost_model].scaled(options.cost_scale) if options.cost_scale else None
    if options.final_delay_s:
        cost = CostModel(options.final_delay_s, 0.0, 0.0, 0.0)

    def factory(config: ServerConfig) -> Backend:
        backend: Backend = (ScriptedBackend.load(options.phrases, cost) if options.phrases
                            else ModelledBackend(cost))
        return _with_one_failure(backend, options.fail_once) if options.fail_once else backend

    # A Hugging Face-shaped id, so the real config loader accepts it without a directory.
    return server_main(["--model", "stand-in/model", *theirs], factory)

def _split(argv: list[str]) -> tuple[list[str], str, list[str]]:
    if "--" in argv:
        index = argv.index("--")
        return argv[:index], "--", argv[index + 1:]
    return argv, "", []


if __name__ == "__main__":
    sys.exit(main())
