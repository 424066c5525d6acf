"""The voice edit's chat request and the check of the LLM's answer (pure)."""

from __future__ import annotations

from tray_client.voice_edit.request import EditAnswer, judge_answer, request_body


def _reply(content: object) -> dict[str, object]:
    return {"choices": [{"message": {"role": "assistant", "content": content}}]}


def test_the_request_holds_the_instruction_and_the_selection_and_the_model():
    body = request_body("hey can u send it", "make this more formal", "qwen3")
    system, user = body["messages"]
    assert system["role"] == "system" and "reply with the resulting text only" in system["content"]
    assert user["content"] == "Instruction: make this more formal\n\nText:\nhey can u send it"
    assert body["model"] == "qwen3" and body["temperature"] == 0 and body["stream"] is False
    assert "model" not in request_body("x", "y")


def test_a_sane_answer_is_taken_with_its_line_breaks_and_without_a_code_fence():
    assert judge_answer("a\nb", _reply("Line one\nLine two\n")) == EditAnswer("Line one\nLine two")
    assert judge_answer("hi", _reply("```text\nHello.\n```")) == EditAnswer("Hello.")
    assert judge_answer("你好", _reply("Hello\u0007 there")) == EditAnswer("Hello there")  # no control characters


def test_a_bad_answer_leaves_the_selection_and_says_why():
    assert judge_answer("x", {"error": "boom"}).error == "the reply is not an OpenAI chat completion"
    assert judge_answer("x", _reply(None)).error == "the reply has no text"
    assert judge_answer("x", _reply("  \n ")).error == "the answer was empty"
    runaway = judge_answer("short", _reply("word " * 200))
    assert runaway.text == "" and "grew to" in runaway.error
