"""Random and long-running traffic against a real server: the fuzzer's messages and oracle, its sessions, the soak."""
