"""The settings window's fields on tabs: for each, a Tk variable, its widget and the error line under it.

Every variable names the window's root as its master. One made without a master binds to the first Tk
interpreter of the process, which is the live preview's, on another thread: the form then showed empty fields,
check boxes in a third state, and saved nothing the user typed (only the Replacements box, a Text widget).
Build it on the thread that owns that root.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["WRAP_PX", "Form", "TextField"]

WRAP_PX = 360  # error and result lines wrap here, so a long message never widens the window


class Form:
    """Fields added page by page (a ttk.Notebook tab each); read and changed by name."""

    def __init__(self, root: Any, tabs: Any) -> None:
        import tkinter as tk

        self._tk, self._root, self._tabs = tk, root, tabs
        self.vars: dict[str, Any] = {}
        self.widgets: dict[str, Any] = {}
        self.errors: dict[str, Any] = {}
        self.page_frame: Any = None
        self.row = 0

    def page(self, title: str) -> None:
        from tkinter import ttk

        self.page_frame = ttk.Frame(self._tabs, padding=10)
        self.page_frame.columnconfigure(1, weight=1)
        self._tabs.add(self.page_frame, text=title)
        self.row = 0

    def entry(self, name: str, label: str, value: str, *, show: str = "",
              record: Callable[[str], None] | None = None) -> None:
        from tkinter import ttk

        self._label(label)
        var = self._tk.StringVar(master=self._root, value=value)
        widget = ttk.Entry(self.page_frame, textvariable=var, width=36, show=show)
        widget.grid(row=self.row, column=1, sticky="we")
        if record is not None:
            ttk.Button(self.page_frame, text="Record", command=lambda: record(name)).grid(
                row=self.row, column=2, sticky="w", padx=4)
        self._field(name, var, widget)

    def choice(self, name: str, label: str, value: str, options: list[str]) -> None:
        from tkinter import ttk

        self._label(label)
        var = self._tk.StringVar(master=self._root, value=value)
        widget = ttk.Combobox(self.page_frame, textvariable=var, values=options, state="readonly", width=34)
        widget.grid(row=self.row, column=1, sticky="we")
        self._field(name, var, widget)

    def check(self, name: str, label: str, value: bool, *, with_error: bool = True) -> None:
        from tkinter import ttk

        var = self._tk.BooleanVar(master=self._root, value=value)
        widget = ttk.Checkbutton(self.page_frame, text=label, variable=var)
        widget.grid(row=self.row, column=1, sticky="w")
        if with_error:
            self._field(name, var, widget)
        else:
            self.vars[name], self.widgets[name] = var, widget
            self.row += 1

    def lines(self, name: str, label: str, value: str) -> None:
        self._label(label)
        widget = self._tk.Text(self.page_frame, width=36, height=6, undo=True)
        widget.grid(row=self.row, column=1, columnspan=2, sticky="we")
        field = TextField(widget)
        field.set(value)
        self._field(name, field, widget)

    def button_row(self, text: str, command: Callable[[], None]) -> Any:
        """A button, with a line under it for its result (returned)."""
        from tkinter import ttk

        ttk.Button(self.page_frame, text=text, command=command).grid(row=self.row, column=1, sticky="w")
        result = ttk.Label(self.page_frame, text="", wraplength=WRAP_PX)
        result.grid(row=self.row + 1, column=1, columnspan=2, sticky="w")
        self.row += 2
        return result

    # --- what the user sees and does -----------------------------------------------------------------------
    def shown(self, name: str) -> Any:
        """What the field's widget shows (not its variable): the text of an entry, list or box; True/False for
        a check box, None for its third, "neither" state."""
        from tkinter import ttk

        widget = self.widgets[name]
        if isinstance(widget, ttk.Checkbutton):
            return None if widget.instate(["alternate"]) else widget.instate(["selected"])
        if isinstance(widget, self._tk.Text):
            return str(widget.get("1.0", "end-1c"))
        return str(widget.get())

    def text_of(self, name: str) -> str:
        """The text a check box shows beside itself."""
        return str(self.widgets[name].cget("text"))

    def edit(self, name: str, value: Any) -> None:
        """Change a field through its widget, as the user's typing, choosing or clicking does."""
        from tkinter import ttk

        widget = self.widgets[name]
        if isinstance(widget, ttk.Checkbutton):
            if self.shown(name) != bool(value):
                widget.invoke()
        elif isinstance(widget, ttk.Combobox):
            widget.set(value)
        elif isinstance(widget, self._tk.Text):
            widget.delete("1.0", "end")
            widget.insert("1.0", value)
        else:
            widget.delete(0, "end")
            widget.insert(0, value)

    # --- building ------------------------------------------------------------------------------------------
    def _label(self, text: str) -> None:
        from tkinter import ttk

        ttk.Label(self.page_frame, text=text).grid(row=self.row, column=0, sticky="nw", padx=(0, 8))

    def _field(self, name: str, var: Any, widget: Any) -> None:
        from tkinter import ttk

        self.vars[name], self.widgets[name] = var, widget
        label = ttk.Label(self.page_frame, text="", foreground="#c62828", justify="left", wraplength=WRAP_PX)
        label.grid(row=self.row + 1, column=1, columnspan=2, sticky="w")
        self.errors[name] = label
        self.row += 2


class TextField:
    """A multi-line Text widget with the get/set of the Tk variables the other fields use."""

    def __init__(self, widget: Any) -> None:
        self._widget = widget

    def get(self) -> str:
        return str(self._widget.get("1.0", "end-1c"))

    def set(self, value: str) -> None:
        self._widget.delete("1.0", "end")
        self._widget.insert("1.0", value)
