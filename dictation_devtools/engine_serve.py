"""`vllm serve` / `qwen-asr-serve` stood in as a process: the fake engine (fake_engine.py) behind the same CLI.

    python -m dictation_devtools.engine_serve [serve] MODEL --port 8000 --scheduling-policy priority [flags...]
    python -m dictation_devtools.engine_serve --version        (FAKE_VLLM_VERSION, default the verified 0.26.0)

A two-line `vllm` script on PATH that execs this module is a fake vLLM CLI for the launcher's tests. At start it
logs its non-default arguments in vLLM's own words (`non-default args: {...}`), which the launcher reads to
check the scheduling policy.

For tests of scripts/start_server.sh (ENGINE_CMD points here) and for benchmarks (`--modelled` serves the
modelled continuous-batching engine of modelled_engine.py with the H200-fitted costs). vLLM flags it does not
model are accepted and ignored; with FAKE_ENGINE_RECORD=FILE it writes its pid and argv there as JSON, so a test
can check what the launcher passed and kill the engine as a crash would.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--version"]:
        print(os.environ.get("FAKE_VLLM_VERSION", "0.26.0"))
        return 0
    if args_in[:1] == ["serve"]:
        args_in = args_in[1:]
    parser = argparse.ArgumentParser(prog="engine_serve", description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--scheduling-policy", default="fcfs")
    parser.add_argument("--modelled", action="store_true", help="the modelled continuous-batching engine")
    parser.add_argument("--cost-scale", type=float, default=1.0, help="--modelled: multiply the GPU costs")
    parser.add_argument("--phrases", type=Path, help="--modelled: answer with these known phrases' texts "
                        "(a ScriptedBackend.save file) instead of placeholder words")
    parser.add_argument("--max-num-seqs", type=int, default=256)
    args, _ignored = parser.parse_known_args(args_in)
    record = os.environ.get("FAKE_ENGINE_RECORD")
    if record:
        Path(record).write_text(json.dumps({"pid": os.getpid(), "argv": args_in,
                                            "env": {"NCCL_NVLS_ENABLE": os.environ.get("NCCL_NVLS_ENABLE")}}))
    non_default = {"model_tag": args.model, "port": args.port}
    if args.scheduling_policy != "fcfs":
        non_default["scheduling_policy"] = args.scheduling_policy
    print(f"INFO [api_utils.py:273] non-default args: {non_default}", flush=True)
    priority = args.scheduling_policy == "priority"
    if args.modelled:
        from dictation_devtools.modelled_engine import EngineCost, ModelledEngine, scripted_answer
        from dictation_devtools.stand_in_backends import ScriptedBackend

        answer = scripted_answer(ScriptedBackend.load(args.phrases).phrases) if args.phrases else None
        engine = ModelledEngine(args.model, cost=EngineCost().scaled(args.cost_scale), answer=answer,
                                priority_scheduling=priority, port=args.port, max_running=args.max_num_seqs)
    else:
        from dictation_devtools.fake_engine import FakeEngine

        engine = FakeEngine(args.model, priority_scheduling=priority, port=args.port)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    engine.start()
    print(f"fake engine serving {args.model} on http://127.0.0.1:{engine.port}/v1", flush=True)
    stop.wait()
    engine.close()
    stats = getattr(engine, "stats", None)
    if stats is not None:  # the modelled GPU's work, for benchmark reports
        print(json.dumps({"engine_stats": stats.__dict__}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
