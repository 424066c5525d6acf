"""Undo the last dictation: delete exactly what the last final typed, only where it is safe to."""
