"""Development tools shared by `tests/` and `scripts/`: stand-in backends, speech fixtures, server launchers,
polling helpers and the README's generated tables. Never imported by the product (asr_server, tray_client)."""
