"""The inference thread: one thread calls the model, batches are formed oldest first, finals run on their own."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from asr_server.backends.base import Backend, DecodeItem
from asr_server.engine.base import DecodeRequest
from asr_server.scheduler import InferenceWorker


class RecordingBackend(Backend):
    """Blocks each generate until released, and records the batches and the thread that ran them."""

    name = "recording"

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()
        self.gate = threading.Semaphore(0)
        self.waiting = threading.Event()  # a generate call is in progress, blocked on the gate

    def build_prompt(self, context: str, language: str | None) -> str:
        return context

    def rollback(self, raw: str, tokens: int) -> str:
        return raw

    def parse(self, raw: str, language: str | None) -> tuple[str, str]:
        return "English", raw

    def generate(self, items: list[DecodeItem]) -> list[str]:
        self.waiting.set()
        self.gate.acquire(timeout=10)
        self.threads.add(threading.current_thread().name)
        self.batches.append([item.prompt for item in items])
        if any(item.prompt == "boom" for item in items):
            raise RuntimeError("injected")
        return [item.prompt for item in items]


def test_finals_batch_alone_ahead_of_partials_and_failures_stay_with_their_job():
    backend = RecordingBackend()
    results: dict[str, tuple[object, object]] = {}

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        loaded = asyncio.Event()
        worker = InferenceWorker(lambda: backend, loop, max_batch=8, on_loaded=lambda b, e: loaded.set())
        worker.start()
        await loaded.wait()
        done = asyncio.Event()

        def job(label: str, urgent: bool) -> None:
            def finished(future) -> None:
                assert asyncio.get_running_loop() is loop, "answered on the event loop"
                error = future.exception()
                results[label] = (None if error else future.result(), str(error) if error else None)
                if len(results) == 6:
                    done.set()
            worker.submit(DecodeRequest(label=label, context=label, language=None, audio=np.zeros(160, np.float32),
                                        prefix_raw=None, rollback_tokens=5, urgent=urgent)).add_done_callback(finished)

        job("first", False)
        assert await asyncio.to_thread(backend.waiting.wait, 10), "the thread takes it and blocks in generate"
        for label, urgent in [("p1", False), ("p2", False), ("f1", True), ("boom", True), ("p3", False)]:
            job(label, urgent)
        for _ in range(5):  # first, [f1, boom], the retries of f1 and boom alone, then the partials
            backend.gate.release()
        await asyncio.wait_for(done.wait(), 60)
        worker.close()

    asyncio.run(scenario())
    assert backend.batches[0] == ["first"]
    assert backend.batches[1] == ["f1", "boom"], "finals go first, in a batch without partials"
    assert backend.batches[2:4] == [["f1"], ["boom"]], "a failed batch is retried item by item"
    assert backend.batches[-1] == ["p1", "p2", "p3"]
    assert backend.threads == {"asr-inference"}
    assert results["f1"][0].text == "f1" and results["f1"][1] is None
    assert results["boom"][0] is None and "injected" in results["boom"][1]
    assert all(results[label][1] is None for label in ("first", "p1", "p2", "p3"))
