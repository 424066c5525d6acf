"""The desktop around the app: which window and app have the keyboard focus (focus.py), and whether a final
may be typed into that window now (pinning.py)."""
