"""Counts per client address, for the caps on what one address may hold before it is a session.

Pure and single-threaded (the asyncio loop owns it). A connection that is not yet a session (a handshake in
progress, a WebSocket before its first message, an upload) holds a file descriptor and some memory without being
counted by --max-sessions; this budget caps how many of them one address may hold at once, so one program cannot
take every descriptor the server has (1,100 half-open POSTs did, under `ulimit -n 1024`).
"""

from __future__ import annotations

from collections import Counter


class AddressBudget:
    """At most `limit` held per address; `take` says whether one more fits, `give_back` frees one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: Counter[str] = Counter()

    def take(self, address: str) -> bool:
        """Hold one for `address` if it holds fewer than `limit`; False (nothing held) otherwise."""
        if self._held[address] >= self.limit:
            return False
        self._held[address] += 1
        return True

    def give_back(self, address: str) -> None:
        """Free one held by `address` (taken earlier by `take`)."""
        self._held[address] -= 1
        if self._held[address] <= 0:
            del self._held[address]

    def held(self, address: str) -> int:
        """How many `address` holds now."""
        return self._held[address]

    @property
    def total(self) -> int:
        """How many are held over all addresses."""
        return sum(self._held.values())
