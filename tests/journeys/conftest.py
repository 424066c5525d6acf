"""The journeys' desktop: a fresh user desktop (window manager, tray, notification daemon) for each journey."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dictation_devtools.desktop import DesktopUnavailable
from dictation_devtools.user_desktop import UserDesktop, start_user_desktop
from tests.conftest import _unavailable


@pytest.fixture
def user_desktop() -> Iterator[UserDesktop]:
    """Xvfb + openbox + trayer + a session bus + dunst, closed after the journey."""
    try:
        desktop = start_user_desktop()
    except DesktopUnavailable as error:
        _unavailable(str(error))
        raise
    yield desktop
    desktop.close()
