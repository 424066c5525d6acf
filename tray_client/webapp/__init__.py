"""The app's own window: Settings, History, Dictionary, Profiles and Stats as a local web app.

The tray app serves it on 127.0.0.1 and a free port, started on first use (a tray that is never opened pays
nothing for it), and opens it in the user's default browser. Layers, from pure to I/O:

- `guard`: who may talk to the server (the per-run secret, the Host and Origin checks, the CSRF token). Pure.
- `api`: what the pages read and change (settings through the config loader, history, dictionary, profiles,
  stats). Pure apart from the files it is given; no HTTP in it.
- `server`: the aiohttp driver on its own thread and event loop, and the static pages in `static/`.
- `launch`: `python -m tray_client open`.
"""
