"""The user interface: the tray icon and its menu (`tray`), the live preview (`overlay`), and the settings
window with the checks behind it (`settings`). The UI drives the runtime only through `tray_client.port`."""

__all__ = ["overlay", "settings", "tray"]
