"""The rules that asr_server and tray_client share, written once: protocol v1 messages, the text-joining rule
and the dataclass config loader.

Pure and light: nothing here imports numpy, torch or websockets, opens a socket or starts a thread, so both
programs (and the tests' stand-in servers) can use it without pulling in the other side's dependencies.
"""
