"""A Tk text window that stands in for "the focused app": it records everything typed into it.

Run as `python tk_target_app.py STATE_DIR TITLE [WM_CLASS]` (the class names the app, for per-app profiles). It writes the widget's text to STATE_DIR/text (UTF-8)
whenever it changes, and clears itself when STATE_DIR/clear appears. STATE_DIR/ready holds the X window id.
"""

from __future__ import annotations

import sys
import tkinter as tk
from pathlib import Path

POLL_MS = 30


def main() -> None:
    state_dir = Path(sys.argv[1])
    title = sys.argv[2]
    root = tk.Tk(className=sys.argv[3]) if len(sys.argv) > 3 else tk.Tk()
    root.title(title)
    root.geometry("640x240+200+200")
    text = tk.Text(root, font=("TkDefaultFont", 14))
    text.pack(fill="both", expand=True)
    # Ctrl+Shift+V pastes, as in a terminal (Tk binds only Ctrl+V): the client pastes into terminals with it.
    text.bind("<Control-Key-V>", lambda _event: (text.event_generate("<<Paste>>"), "break")[1])
    text.focus_force()
    last = {"value": None}

    def poll() -> None:
        clear_flag = state_dir / "clear"
        if clear_flag.exists():
            text.delete("1.0", "end")
            clear_flag.unlink()
        value = text.get("1.0", "end-1c")
        if value != last["value"]:
            tmp = state_dir / "text.tmp"
            tmp.write_text(value, encoding="utf-8")
            tmp.replace(state_dir / "text")
            last["value"] = value
            (state_dir / "cleared").write_text("1" if value == "" else "0")
        root.after(POLL_MS, poll)

    def announce() -> None:
        (state_dir / "ready").write_text(str(root.winfo_id()))

    root.after(POLL_MS, poll)
    root.after(100, announce)
    root.mainloop()


if __name__ == "__main__":
    main()
