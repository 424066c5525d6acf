"""A GTK 3 window for the context tests: a text field with some text and the caret in it, exposed over AT-SPI
(GTK's accessibility bridge), unlike Tk. Run with a Python that has PyGObject (the system one:
`/usr/bin/python3 -m dictation_devtools.gtk_target TEXT [--password]`); prints "ready" once the field has the focus.
"""

from __future__ import annotations

import sys


def main() -> None:
    import gi

    gi.require_version("Gtk", "3.0")
    from gi.repository import GLib, Gtk

    text = sys.argv[1]
    password = "--password" in sys.argv[2:]
    window = Gtk.Window(title="Context target")
    window.set_wmclass("contexttarget", "Contexttarget")
    if password:
        field = Gtk.Entry()
        field.set_visibility(False)
        field.set_text(text)
    else:
        field = Gtk.TextView()
        field.get_buffer().set_text(text)
    window.add(field)
    window.connect("destroy", Gtk.main_quit)
    window.show_all()

    def ready() -> bool:
        window.present()
        field.grab_focus()
        if not password:
            buffer = field.get_buffer()
            buffer.place_cursor(buffer.get_end_iter())
        print("ready", flush=True)
        return False

    GLib.timeout_add(200, ready)
    Gtk.main()


if __name__ == "__main__":
    main()
