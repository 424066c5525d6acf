"""Which pystray backend the Linux tray uses: the rule, without a desktop (the desktop test runs the GTK one)."""

from __future__ import annotations

from tray_client.ui.tray.linux import NO_BUS_ADVICE, NO_MENU_ADVICE, choose_backend, select_backend


def choose(env=None, **probes):
    probes = {"has_gtk": lambda: True, "has_indicator": lambda: True, "sni_host": lambda: False,
              "session_bus": lambda: True, **probes}
    return choose_backend({} if env is None else env, platform="linux", **probes)


def test_an_xembed_tray_gets_gtk_and_a_statusnotifier_host_gets_appindicator():
    assert choose().backend == "gtk"
    assert choose(sni_host=lambda: True).backend == "appindicator"
    assert choose(sni_host=lambda: True, has_indicator=lambda: False).backend == "gtk"


def test_without_pygobject_or_a_session_bus_it_is_the_x11_icon_and_the_user_is_told_why():
    no_gi = choose(has_gtk=lambda: False)
    assert no_gi.backend == "xorg" and no_gi.advice == NO_MENU_ADVICE
    assert "python3-gi" in NO_MENU_ADVICE and "gir1.2-ayatanaappindicator3-0.1" in NO_MENU_ADVICE
    no_bus = choose(session_bus=lambda: False)
    assert no_bus.backend == "xorg" and no_bus.advice == NO_BUS_ADVICE


def test_a_pinned_backend_wins_and_other_systems_keep_pystrays_choice():
    assert choose({"PYSTRAY_BACKEND": "xorg"}).backend == "xorg"
    assert choose_backend({}, platform="win32").backend is None


def test_the_choice_is_pinned_for_pystrays_import():
    env = {"PYSTRAY_BACKEND": "dummy"}
    assert select_backend(env).backend == "dummy" and env["PYSTRAY_BACKEND"] == "dummy"
