"""Edit the selected text by voice: select, press the voice edit hotkey, speak an instruction, press it again.

`session.VoiceEdit` runs the flow; `selection` copies the selection (restoring the clipboard), `request` is the
pure chat request and answer check, `output` types the answer. See docs/voice_edit.md.
"""
