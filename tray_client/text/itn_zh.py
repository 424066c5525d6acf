"""Chinese inverse text normalisation: spoken numbers as the model wrote them ("百分之五十") become digits ("50%").

Pure. Why our own and not WeTextProcessing (the maintained ITN that WeNet and FunASR's line use): it needs pynini
(OpenFst), which has no Windows wheel at all and a 155 MB Linux one, and this client is Windows first and installs
from wheels only. CapsWriter-Offline, the most used Chinese dictation tool, also ships its own regex ITN for the
same reason; its users' reports ("万一" typed as "10001") seed the exception list below. docs/text.md has the rules.

The rules, and why each is cautious: a wrong digit in prose is worse than a number left in words.
- A run of numeral characters is converted only when the whole run reads one way: a spoken digit string of three
  or more ("一三八零零一三八零零零" -> "13800138000", a phone number or code), or a well-formed number with a unit
  character ("一百二十三" -> "123", "三千五百万" -> "3500万", "一万二" -> "12000"). A run that is neither
  ("三七二十一", "一五一十") is left as words.
- One numeral character alone ("一个人", "三天", "十分") stays a word, unless its context makes it a number:
  百分之 (percent), a date (年 after a four- or two-digit year, 月, 日/号 after a month), a clock time
  ("三点半", "十点十五分"), a decimal ("三点五"), a currency unit ("五元").
- Idioms and words that hold numerals are masked first (`EXCEPTIONS`), so no rule ever touches them.
- "十五六个" (fifteen or sixteen) becomes "15~16个", as CapsWriter writes it.
Simplified and traditional characters are both read (萬, 億, 兩, 點, 號, 後), so it runs before the script
conversion.
"""

from __future__ import annotations

import re

__all__ = ["EXCEPTIONS", "normalize_chinese"]

# Words and idioms with numeral characters that are never numbers (seeded from CapsWriter users' reports and
# common idioms). Longest first when masked, so "一五一十" wins over any shorter entry inside it.
EXCEPTIONS: tuple[str, ...] = (
    "万一", "萬一", "一下", "一起", "一定", "一些", "一直", "十分", "三心二意", "九死一生", "一五一十", "七七八八",
    "乱七八糟", "亂七八糟", "一点一点", "一點一點", "一点点", "一點點", "一一", "一样", "一樣", "一般", "一切",
    "统一", "統一", "唯一", "一旦", "一面", "一边", "一邊", "一会儿", "一會兒", "一块儿", "一塊兒", "一致", "一共",
    "万万", "萬萬", "千万", "千萬", "成千上万", "成千上萬", "千千万万", "千千萬萬", "三三两两", "三三兩兩",
    "十全十美", "一心一意", "一模一样", "一模一樣", "七上八下", "四面八方", "五湖四海", "十之八九",
    "三七二十一", "一清二楚", "独一无二", "獨一無二", "百分百", "一百分", "九九八十一", "二五仔", "一二三四五六七",
    "不三不四", "五花八门", "五花八門", "七嘴八舌", "八九不离十", "八九不離十", "千方百计", "千方百計",
    "百发百中", "百發百中", "万无一失", "萬無一失", "一万年", "一萬年", "十万火急", "十萬火急",
    "一千零一夜", "十二生肖", "十一假期", "十一长假", "十一長假", "十一黄金周", "十一黃金周", "十一国庆", "十一國慶",
)

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
_NUMERALS = "".join(_DIGITS) + "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)
_SEQUENCE_DIGITS = "零〇○一幺二三四五六七八九"  # a spoken digit string never says 两
_RUN = f"[{_NUMERALS}]+"
_CURRENCY = ("美元", "欧元", "歐元", "英镑", "英鎊", "日元", "港元", "港币", "港幣", "人民币", "人民幣", "元")
_MEASURES = ("公里", "千米", "公斤", "千克", "毫米", "厘米", "平方米", "立方米", "毫升", "摄氏度", "攝氏度")
_DAY_PARTS = ("凌晨", "早上", "上午", "中午", "下午", "傍晚", "晚上", "半夜")


class _NotANumber(ValueError):
    """The characters do not read as one number."""


def _cardinal(text: str) -> int:
    """"一百二十三" -> 123; "一万二" -> 12000 (a digit after a unit, colloquially, counts the next unit down)."""
    if not text:
        raise _NotANumber(text)
    total = 0
    for big_char, big in sorted(_BIG_UNITS.items(), key=lambda item: -item[1]):
        if big_char in text:
            head, _, text = text.partition(big_char)
            if any(char in text for char in big_char):
                raise _NotANumber(text)
            section = _section(head)
            if section == 0:
                raise _NotANumber(head)
            total += section * big
            if text and text[0] in _DIGITS and len(text) == 1 and text[0] not in "零〇○":
                return total + _DIGITS[text] * big // 10  # "一万二" = 12000
    return total + (_section(text) if text else 0)


def _section(text: str) -> int:
    """A number below 10 000 written with 十/百/千 ("三千零五", "十五", "两百五")."""
    if not text:
        return 0
    if text.isascii():
        raise _NotANumber(text)
    value = 0
    digit: int | None = None
    last_unit = 10_000
    zero_seen = False
    for char in text:
        if char in _DIGITS:
            if digit is not None:
                raise _NotANumber(text)  # two digits in a row: not a cardinal
            digit = _DIGITS[char]
            if digit == 0:
                zero_seen, digit = True, None
        elif char in _SMALL_UNITS:
            unit = _SMALL_UNITS[char]
            if unit >= last_unit:
                raise _NotANumber(text)
            if digit is None:
                # 十 alone opens a number ("十五") or follows 零 ("一千零十"); "百" alone is not a number here.
                if char != "十" or (value and not zero_seen):
                    raise _NotANumber(text)
                digit = 1
            value += digit * unit
            last_unit, digit, zero_seen = unit, None, False
        else:
            raise _NotANumber(text)
    if digit is not None:
        # "两百五" = 250: a last digit right after a unit counts the next unit down (not after 零: "一百零五").
        value += digit * (last_unit // 10 if last_unit < 10_000 and not zero_seen and last_unit > 10 else 1)
    return value


def _digit_string(text: str) -> str:
    return "".join(str(_DIGITS[char]) for char in text)


def _number(run: str) -> str | None:
    """The digits for a run of numerals, or None when it does not read as one number."""
    if len(run) == 1:
        return None  # "十个手指头": one character alone is a word unless a context says number (`_value`)
    if all(char in _SEQUENCE_DIGITS for char in run):
        return _digit_string(run) if len(run) >= 3 else None
    if not any(char in _SMALL_UNITS or char in _BIG_UNITS for char in run):
        return None
    try:
        if run[-1] in _BIG_UNITS and run[-2:-1] not in ("", *_BIG_UNITS):
            return f"{_cardinal(run[:-1])}{run[-1]}" if _cardinal(run[:-1]) else None  # "三千五百万" -> "3500万"
        return str(_cardinal(run))
    except _NotANumber:
        return None


def _value(run: str) -> str | None:
    """Like `_number`, but a single character also counts (the caller has seen a context that says number)."""
    if len(run) == 1:
        if run in _DIGITS:
            return str(_DIGITS[run])
        return "10" if run == "十" else None
    if len(run) == 2 and all(char in _SEQUENCE_DIGITS for char in run):
        return _digit_string(run)
    number = _number(run)
    return number if number is None or number.isdigit() else None


_PERCENT = re.compile(rf"百分之({_RUN})(?:[点點]([{_SEQUENCE_DIGITS}]+))?")
_YEAR = re.compile(rf"(?<![{_NUMERALS}])([{_SEQUENCE_DIGITS}]{{4}}|[{_SEQUENCE_DIGITS}]{{2}})年")
_MONTH = re.compile(rf"(?<![{_NUMERALS}])(十[一二]?|[一二三四五六七八九])月(?:({_RUN})[日号號])?")
_TIME = re.compile(rf"(?<![{_NUMERALS}])({_RUN})[点點](?:(半)|([一二三])刻|({_RUN})分(?:({_RUN})秒)?)")
_DAY_HOUR = re.compile(rf"({'|'.join(_DAY_PARTS)})({_RUN})[点點](?![{_NUMERALS}半])")
_DECIMAL = re.compile(rf"(?<![{_NUMERALS}])({_RUN})[点點]([{_SEQUENCE_DIGITS}]+)(?![{_NUMERALS}分刻秒])")
_UNIT = re.compile(rf"(?<![{_NUMERALS}])({_RUN})(?=(?:{'|'.join(_CURRENCY + _MEASURES)}))")
_RANGE = re.compile(rf"(?<![{_NUMERALS}])([一二三四五六七八九]?十)([一二三四五六七八])([二三四五六七八九])(?![{_NUMERALS}])")
# A run before 几 is an estimate said in words ("三十几岁"); after a weekday word it names days ("星期一二三").
_ANY_RUN = re.compile(f"(?<!星期)(?<!礼拜)(?<!禮拜)(?<!周)(?<!週){_RUN}(?![几幾])")
# An exception counts only as a word of its own: inside a longer run of numerals ("三千万", "一一零") it is part
# of the number.
_MASK = re.compile(f"(?<![{_NUMERALS}])(?:"
                   + "|".join(re.escape(word) for word in sorted(EXCEPTIONS, key=len, reverse=True))
                   + f")(?![{_NUMERALS}])")


def _time(match: re.Match[str]) -> str:
    hour = _value(match.group(1))
    if hour is None or int(hour) > 24:
        return match.group(0)
    if match.group(2):
        return f"{int(hour)}:30"
    if match.group(3):
        return f"{int(hour)}:{15 * _DIGITS[match.group(3)]:02d}"
    minute = _value(match.group(4).lstrip("零〇")) if match.group(4).lstrip("零〇") else "0"
    if minute is None or int(minute) > 59:
        return match.group(0)
    text = f"{int(hour)}:{int(minute):02d}"
    if match.group(5):
        second = _value(match.group(5).lstrip("零〇")) if match.group(5).lstrip("零〇") else "0"
        if second is None or int(second) > 59:
            return match.group(0)
        text += f":{int(second):02d}"
    return text


def _percent(match: re.Match[str]) -> str:
    whole = "100" if match.group(1) == "百" else _value(match.group(1))
    if whole is None:
        return match.group(0)
    return f"{whole}.{_digit_string(match.group(2))}%" if match.group(2) else f"{whole}%"


def _month(match: re.Match[str]) -> str:
    month = _value(match.group(1))
    if match.group(2) is None:
        return f"{month}月"
    day = _value(match.group(2))
    if day is None or not 1 <= int(day) <= 31:
        return match.group(0)
    return f"{month}月{day}日"


def _decimal(match: re.Match[str]) -> str:
    whole = _value(match.group(1))
    return match.group(0) if whole is None else f"{whole}.{_digit_string(match.group(2))}"


def _with_value(match: re.Match[str], suffix: str = "") -> str:
    number = _value(match.group(1)) if len(match.group(1)) <= 2 else _number(match.group(1))
    return match.group(0) if number is None else number + suffix


def _day_hour(match: re.Match[str]) -> str:
    hour = _value(match.group(2))
    return match.group(0) if hour is None or int(hour) > 24 else f"{match.group(1)}{hour}点"


def _range(match: re.Match[str]) -> str:
    tens = _value(match.group(1))
    low, high = _DIGITS[match.group(2)], _DIGITS[match.group(3)]
    if tens is None or high != low + 1:
        return match.group(0)
    return f"{int(tens) + low}~{int(tens) + high}"


def _runs(match: re.Match[str]) -> str:
    number = _number(match.group(0))
    return match.group(0) if number is None else number


def normalize_chinese(text: str) -> str:
    """`text` with its spoken numbers in digits where that is unambiguous (see the module docstring)."""
    if not any(char in _NUMERALS for char in text):
        return text
    masked: list[str] = []

    def mask(match: re.Match[str]) -> str:
        masked.append(match.group(0))
        return f"\ue000{len(masked) - 1}\ue001"  # private-use marks: never in a final (sanitize keeps them out)

    text = _MASK.sub(mask, text)
    text = _PERCENT.sub(_percent, text)
    text = _TIME.sub(_time, text)
    text = _DAY_HOUR.sub(_day_hour, text)
    text = _YEAR.sub(lambda m: _digit_string(m.group(1)) + "年", text)
    text = _MONTH.sub(_month, text)
    text = _DECIMAL.sub(_decimal, text)
    text = _RANGE.sub(_range, text)
    text = _UNIT.sub(_with_value, text)
    text = _ANY_RUN.sub(_runs, text)
    return re.sub("\ue000(\\d+)\ue001", lambda m: masked[int(m.group(1))], text)
