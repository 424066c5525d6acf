"""Runs at the start of every Windows Python of the lane (the harness puts this folder on its path).

Only the app under test has WINE_LANE_CONTROL set: there it installs the lane's stand-ins and tray tap
(dictation_devtools/wine/wine_stand_ins.py). The lane's other Windows processes (the agent) start unchanged.
"""

import os
import sys

# Python 3.12's platform module asks WMI (_wmi) for the Windows version; Wine 8's WMI calls
# propsys.VariantToString, which it does not implement, and the process aborts (aiohttp calls platform.system()
# at import). Without _wmi, platform falls back to sys.getwindowsversion(), as on a Windows without WMI.
sys.modules.setdefault("_wmi", None)

if os.environ.get("WINE_LANE_CONTROL"):
    from pathlib import Path

    from dictation_devtools.wine.wine_stand_ins import install

    install(Path(os.environ["WINE_LANE_CONTROL"]))

if os.environ.get("WINE_LANE_TRACE"):
    import faulthandler

    faulthandler.dump_traceback_later(float(os.environ["WINE_LANE_TRACE"]), repeat=False)
