"""The engine client reads a status answer whole, however the engine's HTTP server cuts it into chunks."""

from __future__ import annotations

import asyncio

from aiohttp import web

from asr_server.engine.client import EngineClient

_METRICS = (
    "# HELP vllm:num_requests_waiting x\n# TYPE vllm:num_requests_waiting gauge\n"
    'vllm:num_requests_waiting{engine="0",model_name="m"} 3.0\n'
    "# HELP vllm:num_requests_running x\n# TYPE vllm:num_requests_running gauge\n"
    'vllm:num_requests_running{engine="0",model_name="m"} 7.0\n'
)


async def _metrics_in_two_chunks(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.content_type = "text/plain"
    await response.prepare(request)
    half = len(_METRICS) // 2
    await response.write(_METRICS[:half].encode())
    await asyncio.sleep(0.2)  # the second chunk comes later, as from a busy engine
    await response.write(_METRICS[half:].encode())
    await response.write_eof()
    return response


def test_metrics_that_arrive_in_two_chunks_are_read_whole():
    """Under load vLLM's /metrics came in pieces; reading only the first one made the engine look down."""

    async def scenario() -> tuple[int, int]:
        app = web.Application()
        app.router.add_get("/metrics", _metrics_in_two_chunks)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        client = EngineClient(f"http://127.0.0.1:{port}/v1", timeout=10, retry_seconds=1)
        try:
            load = await client.load()
        finally:
            await client.aclose()
            await runner.cleanup()
        return load.waiting, load.running

    assert asyncio.run(scenario()) == (3, 7)
