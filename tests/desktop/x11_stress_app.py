"""A bare pystray icon with the tray_x11 fixes, its title and image changed from a second thread without pause,
and a third thread making it redraw, while the test clicks it. Usage: python x11_stress_app.py STATE_DIR.

Writes the number of clicks its loop has handled to STATE_DIR/clicks after each one; when STATE_DIR/stop appears
it writes the number of updates made to STATE_DIR/updates and stops the icon.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any


def write(path: Path, value: int) -> None:
    path.with_suffix(".tmp").write_text(str(value))
    path.with_suffix(".tmp").replace(path)


def main() -> int:
    import faulthandler
    import signal

    import pystray

    from tray_client.events import ClientState
    from tray_client.ui.tray import x11 as tray_x11
    from tray_client.ui.tray.icons import load_state_icon

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the harness asks for stacks on a failure
    signal.signal(signal.SIGUSR2, lambda *_: None)  # ... and for asyncio tasks, which this app has none of
    state_dir = Path(sys.argv[1])
    clicks: list[float] = []
    states = list(ClientState)
    ended = threading.Event()

    def count(*_: object) -> None:
        clicks.append(time.monotonic())
        write(state_dir / "clicks", len(clicks))

    menu = pystray.Menu(pystray.MenuItem("count", count, default=True))
    icon = pystray.Icon("qwen-dictation-stress", load_state_icon(ClientState.OFF), "stress 0", menu)
    tray_x11.fix_backend(icon)

    def setup(icon: Any) -> None:
        icon.visible = True
        number = 0
        while not (state_dir / "stop").exists():
            number += 1
            icon.title = f"stress {number}"
            if number % 4 == 0:
                icon.icon = load_state_icon(states[number // 4 % len(states)])
        write(state_dir / "updates", number)
        icon.stop()
        tray_x11.wake_event_loop(icon, ended)

    def expose_constantly() -> None:
        """Make the loop redraw (a get_geometry round trip on its connection) again and again, as a tray that
        lays its icons out does, so the loop's own requests overlap the updates from the other thread."""
        from Xlib import X, display
        from Xlib.protocol.event import Expose

        own = display.Display()
        window = own.create_resource_object("window", icon._window.id)
        while not ended.is_set() and not (state_dir / "stop").exists():
            window.send_event(Expose(window=window, x=0, y=0, width=1, height=1, count=0),
                              event_mask=X.ExposureMask)
            own.flush()
            time.sleep(0.001)
        own.close()

    threading.Thread(target=expose_constantly, daemon=True).start()
    icon.run(setup=setup)
    ended.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
