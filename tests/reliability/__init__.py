"""Fault injection, end to end: server kills, a stalling and cutting TCP proxy, decode errors, a failing mic."""
