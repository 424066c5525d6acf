"""The settings: their checks and the comment-keeping `config.toml` update (`model`, used by the web app),
start at login (`autostart`), and the app's window, the local web app, as the tray opens it (`window`)."""

__all__ = ["autostart", "model", "window"]
