"""Undo's rules, without a desktop: delete exactly the last typed text, only in its window, only if the user
typed nothing since; otherwise a reason for the notice."""

from __future__ import annotations

from tray_client.undo.journal import SETTLE_S, UndoJournal, UndoPlan, UndoRefused


def test_undo_deletes_exactly_what_the_last_final_typed_then_the_one_before():
    journal = UndoJournal()
    journal.typed("Hello world", "w1", at=10.0)
    journal.typed(" 你好世界😀", "w1", at=12.0)
    plan = journal.plan("w1")
    assert plan == UndoPlan(" 你好世界😀", 6)  # the space the spacing rule added goes too; one per code point
    journal.done(plan)
    assert journal.plan("w1") == UndoPlan("Hello world", 11)
    journal.done(journal.plan("w1"))
    refused = journal.plan("w1")
    assert isinstance(refused, UndoRefused) and refused.reason.startswith("Nothing to undo")


def test_undo_refuses_in_another_window_and_says_where_to_go():
    journal = UndoJournal()
    journal.typed("note to self", "w1", at=1.0)
    refused = journal.plan("w2")
    assert isinstance(refused, UndoRefused)
    assert "another window" in refused.reason and "“note to self”" in refused.reason
    assert journal.plan("w1") == UndoPlan("note to self", 12)  # back in the window: it works again


def test_undo_refuses_after_the_user_typed_but_not_for_our_own_late_keys():
    journal = UndoJournal()
    journal.typed("abc", "w1", at=100.0)
    journal.user_key(100.0 + SETTLE_S / 2, "b")  # our own keystrokes, seen late (X11 cannot mark them)
    journal.user_key(100.0 + SETTLE_S / 2)  # a key without a character (a spare keycode bound for CJK)
    assert journal.plan("w1") == UndoPlan("abc", 3)
    journal.user_key(100.0 + SETTLE_S / 2, "!")  # not in our text: the user's, however soon
    assert isinstance(journal.plan("w1"), UndoRefused)
    journal.typed("abc", "w1", at=100.0)
    journal.user_key(100.0 + SETTLE_S + 0.1)
    refused = journal.plan("w1")
    assert isinstance(refused, UndoRefused) and "you typed after “abc”" in refused.reason
    # A new final starts clean, but the older one keeps its mark: undoing twice never eats the user's keys.
    journal.typed("def", "w1", at=200.0)
    journal.done(journal.plan("w1"))
    assert isinstance(journal.plan("w1"), UndoRefused)


def test_undo_refuses_when_the_keyboard_cannot_be_watched():
    journal = UndoJournal()
    journal.typed("abc", "w1", at=1.0)
    journal.blind("the keyboard cannot be watched (Wayland)")
    refused = journal.plan("w1")
    assert isinstance(refused, UndoRefused) and "Wayland" in refused.reason


def test_done_for_a_stale_plan_removes_nothing():
    journal = UndoJournal()
    journal.typed("one", "w1", at=1.0)
    stale = journal.plan("w1")
    journal.typed("two", "w1", at=2.0)  # a final was typed between the plan and its deletion
    journal.done(stale)
    assert journal.plan("w1") == UndoPlan("two", 3)


def test_undo_of_a_voice_edit_deletes_the_answer_and_gives_back_the_text_it_replaced():
    journal = UndoJournal()
    journal.typed("Hello", "w1", at=1.0)
    journal.typed("Could you send it?", "w1", at=2.0, restore="can u send it")
    assert journal.plan("w1") == UndoPlan("Could you send it?", 18, "can u send it")
    journal.done(journal.plan("w1"))
    assert journal.plan("w1") == UndoPlan("Hello", 5)  # a dictation: nothing to type back
