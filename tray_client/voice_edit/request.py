"""Pure: the chat request that asks the user's LLM to rewrite a selection by a spoken instruction, and the judge
of its answer. No I/O; `voice_edit.session` posts it through text/chat.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tray_client.text.sanitize import sanitize

__all__ = ["EDIT_PROMPT", "EditAnswer", "judge_answer", "request_body"]

EDIT_PROMPT = (
    "You edit text for the user. You get an instruction they spoke and the text they selected. Apply the "
    "instruction to the text (rewrite, shorten, fix, change the tone, translate: whatever it asks) and reply with "
    "the resulting text only: no quotes around it, no comments, no explanation, no preface. Keep line breaks where "
    "they still fit. If the instruction is not about the text, reply with the text unchanged."
)
MAX_GROWTH = 4
"""An answer may be this many times the selection's length plus MAX_EXTRA_CHARS (a translation into a longer
language, a short text expanded); beyond it the model is rambling and the selection is left alone."""
MAX_EXTRA_CHARS = 400


@dataclass(frozen=True)
class EditAnswer:
    """The new text for the selection, or `error` (why not, for a notice) with `text` empty."""

    text: str
    error: str = ""


def request_body(selection: str, instruction: str, model: str = "") -> dict[str, Any]:
    """The chat request: the edit prompt, then the instruction and the selected text as the user message."""
    body: dict[str, Any] = {
        "messages": [{"role": "system", "content": EDIT_PROMPT},
                     {"role": "user", "content": f"Instruction: {instruction}\n\nText:\n{selection}"}],
        "temperature": 0,
        "max_tokens": max(256, 2 * (MAX_GROWTH * len(selection) + MAX_EXTRA_CHARS)),
        "stream": False,
    }
    if model:
        body["model"] = model
    return body


def judge_answer(selection: str, reply: Any) -> EditAnswer:
    """Take the answer's text when it is sane: a string, not empty, not runaway; each line sanitized (the line
    breaks are kept: the caller types them as keys)."""
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return EditAnswer("", "the reply is not an OpenAI chat completion")
    if not isinstance(content, str):
        return EditAnswer("", "the reply has no text")
    bound = MAX_GROWTH * len(selection) + MAX_EXTRA_CHARS
    lines = [sanitize(line, max_chars=len(line) + 1) for line in _unfenced(content).strip().splitlines()]
    text = "\n".join(lines).strip("\n")
    if not text.strip():
        return EditAnswer("", "the answer was empty")
    if len(text) > bound:
        return EditAnswer("", f"the answer grew to {len(text)} characters (at most {bound} for this selection)")
    return EditAnswer(text)


def _unfenced(content: str) -> str:
    """Small models like to wrap the answer in a ``` code fence: take what is inside."""
    stripped = content.strip()
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) > 6:
        inner = stripped[3:-3]
        first, _, rest = inner.partition("\n")
        return rest if first.strip().isalnum() or not first.strip() else inner
    return content
