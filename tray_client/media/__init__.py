"""Pause the media that plays while you dictate, and play it again after (`pause_media`, off by default).

`pause.MediaPause` is the rule (pause what plays, resume only what we paused and is still paused, remember it
on disk first so a crash is undone at the next start), `_mpris` the Linux players over D-Bus, `watch` the thread
that follows the pipeline's speech state. See docs/media.md.
"""
