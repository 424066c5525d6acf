"""English inverse text normalisation: "twenty five percent" -> "25%", "three thirty pm" -> "3:30 PM".

Pure. Qwen3-ASR mostly writes English numbers as digits already; this catches the spoken forms it leaves in
words. Cautious like the Chinese rules (itn_zh.py), following the common style guides: one to nine alone stay
words ("one of them", "two people"), as do "a hundred" and "hundreds of"; a number becomes digits when it has two
or more number words ("twenty five"), is ten or more ("eleven" -> "11"), or its context says number: percent,
dollars, a decimal point, a clock time with a.m./p.m., a month's day, or a spoken digit string of four or more
("five five five one two three four" -> "5551234").
"""

from __future__ import annotations

import re

__all__ = ["normalize_english"]

_ONES = {"zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
         "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
             "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
             "nineteenth": 19, "twentieth": 20, "thirtieth": 30}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_WORD = "|".join(sorted([*(w for w in _ONES if w != "oh"), *_TENS, *_SCALES], key=len, reverse=True))
_NUMBER = rf"(?:(?:{_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_WORD}))*)"
_ORDINAL = "|".join(sorted(_ORDINALS, key=len, reverse=True))


def _value(words: list[str]) -> int | None:
    """The value of number words ("two hundred and five" -> 205), or None when they are not one number."""
    total = current = 0
    last = None  # kind of the last word, to refuse "five five" or "twenty thirty"
    for word in words:
        if word == "and":
            if last != "hundred":
                return None
            continue
        if word in _ONES:
            if last in ("one", "teen") or (last == "tens" and _ONES[word] >= 10) or word == "oh":
                return None
            current += _ONES[word]
            last = "teen" if _ONES[word] >= 10 else "one"
        elif word in _TENS:
            if last in ("one", "teen", "tens"):
                return None
            current += _TENS[word]
            last = "tens"
        elif word == "hundred":
            if last not in ("one", "teen") or current >= 100 or current == 0:
                return None
            current *= 100
            last = "hundred"
        else:
            scale = _SCALES[word]
            if current == 0 or last == "scale":
                return None
            total += current * scale
            current = 0
            last = "scale"
    return total + current


def _words(text: str) -> list[str]:
    return re.split(r"[\s-]+", text.strip().casefold())


def _format(value: int) -> str:
    return f"{value:,}" if value >= 10_000 else str(value)


_DIGIT_WORDS = "zero|oh|one|two|three|four|five|six|seven|eight|nine"
_DIGIT_STRING = re.compile(rf"\b(?:(?:{_DIGIT_WORDS})[\s-]+){{3,}}(?:{_DIGIT_WORDS})\b", re.IGNORECASE)
_PERCENT = re.compile(rf"\b({_NUMBER})(?:\s+point\s+((?:(?:{_DIGIT_WORDS})\s*)+?))?\s+percent\b", re.IGNORECASE)
_DOLLARS = re.compile(rf"\b({_NUMBER})\s+dollars?(?:\s+and\s+({_NUMBER})\s+cents?)?\b", re.IGNORECASE)
_DECIMAL = re.compile(rf"\b({_NUMBER})\s+point\s+((?:(?:{_DIGIT_WORDS})\b\s*)+)", re.IGNORECASE)
_CLOCK = re.compile(rf"\b({_NUMBER})(?:\s+(o'clock|oh\s+(?:{_DIGIT_WORDS})|{_NUMBER}))?\s+([ap])(?:(\.)\s?m\.|\s?m\b)",
                    re.IGNORECASE)
_DATE = re.compile(rf"\b({'|'.join(_MONTHS)})\s+(?:the\s+)?((?:twenty|thirty)[\s-]+(?:{_ORDINAL})|{_ORDINAL}|{_NUMBER})\b")
_YEAR = re.compile(r"\b(nineteen|twenty)\s+((?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
                   r"eighteen|nineteen)|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[\s-]+"
                   r"(?:one|two|three|four|five|six|seven|eight|nine))?)\b", re.IGNORECASE)
_CARDINAL = re.compile(rf"(?<![\w'])({_NUMBER})(?![\w'])", re.IGNORECASE)
_COMPOUND_ORDINAL = re.compile(rf"\b(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[\s-]+({_ORDINAL})\b",
                               re.IGNORECASE)
_SUFFIX = {1: "st", 2: "nd", 3: "rd"}


def _ordinal_suffix(value: int) -> str:
    return "th" if 10 <= value % 100 <= 20 else _SUFFIX.get(value % 10, "th")


def _digits(text: str) -> str:
    return "".join(str(_ONES[word]) for word in _words(text))


def _percent(match: re.Match[str]) -> str:
    value = _value(_words(match.group(1)))
    if value is None:
        return match.group(0)
    return f"{value}.{_digits(match.group(2))}%" if match.group(2) else f"{value}%"


def _dollars(match: re.Match[str]) -> str:
    value = _value(_words(match.group(1)))
    cents = _value(_words(match.group(2))) if match.group(2) else 0
    if value is None or cents is None or cents > 99:
        return match.group(0)
    return f"${_format(value)}.{cents:02d}" if match.group(2) else f"${_format(value)}"


def _decimal(match: re.Match[str]) -> str:
    value = _value(_words(match.group(1)))
    trail = match.group(2)[len(match.group(2).rstrip()):]
    return match.group(0) if value is None else f"{value}.{_digits(match.group(2))}{trail}"


def _clock(match: re.Match[str]) -> str:
    hour = _value(_words(match.group(1)))
    minute_text = (match.group(2) or "").casefold()
    if minute_text.startswith("oh"):
        minute: int | None = _ONES[minute_text.split()[-1]]
    elif minute_text in ("", "o'clock"):
        minute = 0
    else:
        minute = _value(_words(minute_text))
    if hour is None and not minute_text:  # "three thirty pm": the number pattern took both words
        words = _words(match.group(1))
        hour, minute = _value(words[:1]), _value(words[1:])
    if hour is None or minute is None or not 1 <= hour <= 12 or minute > 59:
        return match.group(0)
    if match.group(4):  # "a.m.": its closing dot may also end the sentence, so the dotted form stays
        return f"{hour}:{minute:02d} {match.group(3).lower()}.m."
    return f"{hour}:{minute:02d} {match.group(3).upper()}M"


def _date(match: re.Match[str]) -> str:
    words = _words(match.group(2))
    if words[-1] in _ORDINALS:
        day: int | None = _ORDINALS[words[-1]] + (_TENS[words[0]] if len(words) == 2 else 0)
    else:
        day = _value(words)
    return match.group(0) if day is None or not 1 <= day <= 31 else f"{match.group(1)} {day}"


def _year(match: re.Match[str]) -> str:
    century = _ONES.get(match.group(1).casefold()) or _TENS[match.group(1).casefold()]
    rest = _value(_words(match.group(2)))
    return match.group(0) if rest is None else f"{century}{rest:02d}"


def _cardinal(match: re.Match[str]) -> str:
    words = _words(match.group(1))
    value = _value(words)
    if value is None or (len(words) == 1 and (value < 10 or words[0] in _SCALES)):
        return match.group(0)
    if words[-1] in ("million", "billion") and len(words) > 1:  # "two million" reads better than 2,000,000
        head = _value(words[:-1])
        return match.group(0) if head is None else f"{_format(head)} {words[-1]}"
    return _format(value)


def _compound_ordinal(match: re.Match[str]) -> str:
    value = _TENS[match.group(1).casefold()] + _ORDINALS[match.group(2).casefold()]
    return f"{value}{_ordinal_suffix(value)}"


def normalize_english(text: str) -> str:
    """`text` with its spoken numbers in digits where that is unambiguous (see the module docstring)."""
    text = _DIGIT_STRING.sub(lambda m: _digits(m.group(0)), text)
    text = _PERCENT.sub(_percent, text)
    text = _DOLLARS.sub(_dollars, text)
    text = _CLOCK.sub(_clock, text)
    text = _DATE.sub(_date, text)
    text = _DECIMAL.sub(_decimal, text)
    text = _YEAR.sub(_year, text)
    text = _COMPOUND_ORDINAL.sub(_compound_ordinal, text)
    return _CARDINAL.sub(_cardinal, text)
