"""The offline engine: reads a travel inquiry with regular expressions and real libraries.

dateparser resolves day-month phrases and relative dates ("через 2 недели") against the reference
date; phonenumbers finds phone numbers; rapidfuzz (through the gazetteer) forgives misspelt
destinations. Each step consumes what it understood (the text is blanked there), so a date is not
read again as a budget or a number of nights. Unknown stays None.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass, field

import dateparser
import phonenumbers

from crystal_bay.services.ai import gazetteer
from crystal_bay.services.ai.schema import Extraction

# ---------- text preparation ----------

_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")
_STAR_SIGNS = re.compile("[⭐★✨🌟]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

NUMBER_WORDS = {
    "два": 2, "две": 2, "двух": 2, "двое": 2, "двоих": 2, "двумя": 2, "двоем": 2,
    "три": 3, "трех": 3, "трое": 3, "троих": 3, "тремя": 3,
    "четыре": 4, "четырех": 4, "четверо": 4, "четверых": 4, "четырьмя": 4,
    "пять": 5, "пяти": 5, "пятеро": 5, "шесть": 6, "шести": 6, "семь": 7, "семи": 7,
    "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9, "десять": 10, "десяти": 10,
    "одиннадцать": 11, "одиннадцати": 11, "двенадцать": 12, "двенадцати": 12, "тринадцать": 13,
    "четырнадцать": 14, "четырнадцати": 14, "пятнадцать": 15, "пятнадцати": 15, "шестнадцать": 16,
    "семнадцать": 17, "восемнадцать": 18, "двадцать": 20, "двадцати": 20, "тридцать": 30, "сорок": 40,
    "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70, "восемьдесят": 80, "девяносто": 90,
    "сто": 100, "двести": 200, "триста": 300, "четыреста": 400, "пятьсот": 500, "шестьсот": 600,
    "семьсот": 700, "восемьсот": 800, "девятьсот": 900,
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15, "twenty": 20,
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b")
_HALF = re.compile(r"\b(?:полтора|полторы|полутора)\b")
ORDINALS = {"перв": 1, "втор": 2, "трет": 3, "четверт": 4, "пят": 5, "шест": 6, "седьм": 7, "восьм": 8,
            "девят": 9, "десят": 10, "одиннадцат": 11, "двенадцат": 12, "тринадцат": 13, "четырнадцат": 14,
            "пятнадцат": 15, "шестнадцат": 16, "семнадцат": 17, "восемнадцат": 18, "девятнадцат": 19,
            "двадцат": 20, "тридцат": 30}
_ORDINAL = re.compile(r"\b(?:(двадцать|тридцать)\s+)?(" + "|".join(sorted(ORDINALS, key=len, reverse=True))
                      + r")(ого|ое|ье|ьего|ому|ьему)\b")


def _lower(text: str) -> str:
    """Lower case, ё→е, one kind of dash, emoji out, currency signs as words."""
    s = _STAR_SIGNS.sub("*", text)
    s = _EMOJI.sub(" ", s).lower().replace("ё", "е")
    return re.sub(r"[ \t]+", " ", re.sub("[–—−]", "-", s).replace("\u00a0", " ").replace("₸", " тенге ")
                  .replace("₽", " руб "))


def _prepare(s: str) -> str:
    """Number words and ordinals as digits ("двое" → 2, "десятого" → 10)."""
    s = _HALF.sub("1.5", s)

    def ordinal(m: re.Match) -> str:
        return str((20 if m.group(1) == "двадцать" else 30 if m.group(1) else 0) + ORDINALS[m.group(2)])

    s = _ORDINAL.sub(ordinal, s)
    s = _NUMBER_WORD.sub(lambda m: str(NUMBER_WORDS[m.group(1)]), s)
    s = re.sub(r"\b([1-9]00) ([1-9]0) ([1-9])\b", lambda m: str(sum(int(g) for g in m.groups())), s)
    s = re.sub(r"\b([1-9]00) ([1-9]?[0-9])\b", lambda m: str(int(m.group(1)) + int(m.group(2))), s)
    s = re.sub(r"\b([2-9]0) ([1-9])\b", lambda m: str(int(m.group(1)) + int(m.group(2))), s)
    s = re.sub(r"\b(\d{1,2})(?:st|nd|rd|th)\b", r"\1", s)
    s = re.sub(r"\b(\d{1,2})-?(?:го|ого|е|ое)\b", r"\1", s)  # "5-го марта", "20е"
    return re.sub(r"[ \t]+", " ", s)


# Russian typed in Latin letters ("Hotim v Fukuok na 10 nochei v aprele, nas dvoe"): recognised by words that are
# Russian and not English, then read letter by letter as Cyrillic (place names the gazetteer knows stay as typed)
_TRANSLIT_MARKERS = re.compile(
    r"\b(?:zdravstvu[iy]te|zdrastvu[iy]te|privet|dobr(?:yi|iy|yy|ii|oe|ogo)|h?kh?otim|h?kh?ochu|nu(?:zh|j)(?:en|na|no)|"
    r"skolko|mo(?:zh|j)no|po(?:zh|j)alu[iy]?sta|spasibo|nochei|nochey|noche[iy]|dnei|dney|vzrosl\w*|detei|detey|"
    r"deti|rebenka?|rebenkom|dvoe|troe|vdvoem|vtroem|bud(?:zh|j)et|otd[iy]kh?|poe(?:h|kh)at|tury?|putevk\w*|"
    r"pozhalu\w*|pojalu\w*|vylet|iz|dlya|nas|ili|esli|mesyac\w*|nedel\w*|v(?:o)?\s+(?:yanvare|fevrale|marte|"
    r"aprele|mae|iyune|iyule|avguste|sentyabre|oktyabre|noyabre|dekabre))\b")
_TRANSLIT_PAIRS = (("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
                   ("yu", "ю"), ("ya", "я"), ("yo", "е"), ("ye", "е"), ("iu", "ю"), ("ia", "я"))
_TRANSLIT_ONE = dict(zip("abvgdezijklmnoprstufhcywxq'", "абвгдезийклмнопрстуфхцывхкь", strict=True))
_TRANSLIT_ONE.update(j="ж", x="кс")
_TRANSLIT_TOKEN = re.compile("|".join(p for p, _ in _TRANSLIT_PAIRS) + "|[aeiouy]y(?![aeiou])|[a-z']")


def _is_translit(text: str) -> bool:
    """Latin letters outnumber Cyrillic, and at least two words are Russian ones typed in Latin."""
    lowered = text.lower()
    if len(re.findall(r"[a-z]", lowered)) <= len(re.findall(r"[а-яё]", lowered)):
        return False
    return len({m.group(0) for m in _TRANSLIT_MARKERS.finditer(lowered)}) >= 2


def _to_cyrillic(text: str) -> str:
    """Latin words → Cyrillic letters ("nochei" → "ночеи"); words (or pairs) the gazetteer knows are kept."""
    pairs = dict(_TRANSLIT_PAIRS)

    def letters(word: str) -> str:
        def one(m: re.Match) -> str:
            t = m.group(0)
            if t in pairs:
                return pairs[t]
            if len(t) == 2:  # a vowel and a "y" before a consonant or the end: "detey" → "детей"
                return _TRANSLIT_ONE[t[0]] + "й"
            return _TRANSLIT_ONE.get(t, t)
        return _TRANSLIT_TOKEN.sub(one, word)

    words = re.split(r"([a-z']+)", text)
    keep = set()
    latin = [i for i, w in enumerate(words) if i % 2 and w]
    for n, i in enumerate(latin):
        nxt = latin[n + 1] if n + 1 < len(latin) else None
        if nxt is not None and words[i + 1].strip() == "" and gazetteer.lookup(f"{words[i]} {words[nxt]}"):
            keep |= {i, nxt}
        elif gazetteer.lookup(words[i]) and len(words[i]) > 3:
            keep.add(i)
    return "".join(w if (not i % 2 or i in keep) else letters(w) for i, w in enumerate(words))


_GAP = "\x00"  # what a consumed span becomes: not a space, so later patterns cannot match across it


@dataclass
class _Doc:
    """The prepared text; `take` blanks what a step understood so later steps do not re-read it."""

    s: str
    words: str = ""  # the prepared text before number words became digits ("вдвоем", "на двоих")
    found: dict = field(default_factory=dict)

    def take(self, m: re.Match) -> None:
        self.s = self.s[: m.start()] + _GAP * (m.end() - m.start()) + self.s[m.end():]

    def finditer(self, pattern: re.Pattern) -> list[re.Match]:
        return list(pattern.finditer(self.s))


# ---------- contacts ----------


def _contacts(text: str) -> tuple[str, str | None, str | None]:
    """The text without e-mails and phone numbers, the first e-mail and the first phone (E.164)."""
    email = None
    m = _EMAIL.search(text)
    if m:
        email = m.group(0).lower().rstrip(".")
        text = text.replace(m.group(0), " ")
    phone = None
    for match in phonenumbers.PhoneNumberMatcher(text, "KZ", leniency=phonenumbers.Leniency.VALID):
        if phone is None:
            phone = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        text = text[: match.start] + " " * (match.end - match.start) + text[match.end:]
    return text, email, phone


_NAME_PREFIX = re.compile(r"(?:(?i:меня зовут|зовут меня|my name is|i am|i'm|это|с уважением,?|regards,?)\s+|"
                          r"\b(?i:name|имя|фио)\s*:\s*)"
                          r"([A-ZА-ЯЁ][a-zа-яё]{1,20}(?:\s+[A-ZА-ЯЁ][a-zа-яё]{1,25})?)")
_NAME_SELF = re.compile(r"(?:^|[.!?,]\s*)(?:Я|я)\s+([А-ЯЁ][а-яё]{2,20})\s*(?:[,.!]|$)")
# a signature: "… Асель, +7 747 321 65 98" — a capitalised word (or two) opening a sentence, a comma, a phone
_NAME_BY_PHONE = re.compile(r"(?:^|[.!?\n]\s*)([A-ZА-ЯЁ][a-zа-яё]{2,20}(?:\s+[A-ZА-ЯЁ][a-zа-яё]{2,25})?)\s*,\s*"
                            r"(?:\+7|8)[\s(-]*\d{3}")
_NOT_NAMES = {"здравствуйте", "привет", "добрый", "хочу", "хотим", "нужен", "нужна", "интересует", "подскажите",
              "спасибо", "looking", "interested", "planning", "hello", "очень", "тоже", "снова", "уже", "клиент",
              "ваш", "ваша", "менеджер", "турист", "телефон", "тел", "номер", "звоните", "пишите", "whatsapp",
              "ватсап", "phone", "contact", "call"}


def _name(text: str) -> str | None:
    for pattern in (_NAME_PREFIX, _NAME_SELF, _NAME_BY_PHONE):
        for m in pattern.finditer(text):
            name = m.group(1).strip()
            first = gazetteer.normalize(name.split()[0])
            if first in _NOT_NAMES or gazetteer.lookup(first) is not None:
                continue
            return name
    return None


# ---------- money ----------

_NUM = r"(?P<num>\d{1,3}(?:[ ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
_MULT = r"(?:\s*(?P<mult>тыс\w*\.?|тыщ\w*|млн\.?|миллион\w*|лям\w*|mln|million|thousand)|(?P<k>к|k)(?![a-zа-я]))"
_CUR = (r"(?P<cur>\$|€|usd|us\$|eur|euro|евро|kzt|тенге|тг|теңге|руб\w*|rub|доллар\w*|долл|бакс\w*|"
        r"у\.?\s?е\.?|dollars?|bucks)")
_MONEY = re.compile(rf"(?:(?P<pre>\$|€|usd|eur|kzt)\s*)?{_NUM}{_MULT}?(?:\s*{_CUR}(?![a-zа-я]))?")
_BUDGET_WORD = re.compile(r"(?:бюджет\w*|budget|не дороже|не более|максимум|max|в пределах|стоимость\w*|"
                          r"рассчитываем на|готовы потратить|up to|under)\s*[:~-]?\s*(?:до|около|примерно|up to)?\s*"
                          + _NUM)
_PER_PERSON = re.compile(r"^\s*(?:на|с|за|per|a)\s*(?:человека|чел\w*|person|персону|pp|head|1 человека)\b")
CURRENCY_OF = (("USD", ("$", "usd", "us$", "доллар", "долл", "бакс", "у.е", "уе", "у е", "dollar", "buck")),
               ("EUR", ("€", "eur", "евро")), ("KZT", ("kzt", "тенге", "тг", "теңге")), ("RUB", ("руб", "rub")))


def _currency(token: str | None) -> str | None:
    if not token:
        return None
    token = token.strip().lower()
    for code, marks in CURRENCY_OF:
        if any(token.startswith(mark) for mark in marks):
            return code
    return None


def _amount(num: str, mult: str | None) -> float | None:
    raw = num.replace(" ", "")
    seps = re.findall(r"[.,]", raw)
    if seps:
        last = re.split(r"[.,]", raw)[-1]
        raw = raw.replace(",", "").replace(".", "") if (len(seps) > 1 or (len(last) == 3 and not mult)) \
            else raw.replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        return None
    if mult:
        mult = mult.lower()
        value *= 1_000_000 if mult[0] in "млm" and not mult.startswith("тыс") else 1000
    return value


def _money(doc: _Doc) -> None:
    best: tuple[float, str | None, bool] | None = None
    for m in doc.finditer(_MONEY):
        pre, cur, mult = m.group("pre"), m.group("cur"), m.group("mult") or m.group("k")
        if not (pre or cur or mult):
            continue
        value = _amount(m.group("num"), mult)
        if value is None or value < 50:
            continue
        per_person = bool(_PER_PERSON.match(doc.s[m.end():m.end() + 25]))
        doc.take(m)
        if best is None or value > best[0]:
            best = (value, _currency(pre or cur), per_person)
    if best is None:
        m = _BUDGET_WORD.search(doc.s)
        if m and (value := _amount(m.group("num"), None)) and value >= 100:
            best = (value, None, False)
            doc.take(m)
    if best is not None:
        doc.found.update(budget=int(round(best[0])), currency=best[1], per_person=best[2])


# ---------- dates ----------

_M_RU = (r"(?:январ[ьяею]|феврал[ьяею]|марта|марте|март|апрел[ьяею]|ма[йяею]|июн[ьяею]|июл[ьяею]|августа|августе|"
         r"август|сентябр[ьяею]|октябр[ьяею]|ноябр[ьяею]|декабр[ьяею])")
_M_EN = (r"(?:january|february|march|april|june|july|august|september|october|november|december|"
         r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)")
_M_EN_MAY = r"(?:" + _M_EN[3:-1] + r"|may)"
_MONTH_STEMS = (("январ", 1), ("феврал", 2), ("март", 3), ("апрел", 4), ("ма", 5), ("июн", 6), ("июл", 7),
                ("август", 8), ("сентябр", 9), ("октябр", 10), ("ноябр", 11), ("декабр", 12), ("jan", 1),
                ("feb", 2), ("mar", 3), ("apr", 4), ("may", 5), ("jun", 6), ("jul", 7), ("aug", 8), ("sep", 9),
                ("oct", 10), ("nov", 11), ("dec", 12))
_M = rf"(?:{_M_RU}|{_M_EN_MAY})\b"
_ME = rf"(?:{_M_EN_MAY})\b"
_Y = r"(?:\s+(?P<y>20\d\d)(?:\s*г\w*\.?)?)?"
_TO = r"\s*(?:-|по|до|to|till|until|and|и)\s*"

_RANGE_2M = re.compile(rf"(?:с\s+|from\s+)?\b(?P<d1>\d{{1,2}})\s+(?:of\s+)?(?P<m1>{_M})\s*(?:-|по|до|to|till|until)\s*"
                       rf"(?P<d2>\d{{1,2}})\s+(?:of\s+)?(?P<m2>{_M}){_Y}")
_RANGE_2M_EN = re.compile(rf"(?:from\s+)?\b(?P<m1>{_ME})\s+(?P<d1>\d{{1,2}})\s*(?:-|to|till|until)\s*"
                          rf"(?P<m2>{_ME})\s+(?P<d2>\d{{1,2}}){_Y}")
_RANGE_1M = re.compile(rf"(?:с\s+|from\s+|between\s+)?\b(?P<d1>\d{{1,2}}){_TO}(?P<d2>\d{{1,2}})\s+(?:of\s+)?"
                       rf"(?P<m1>{_M}){_Y}")
_RANGE_1M_EN = re.compile(rf"(?:from\s+|between\s+)?\b(?P<m1>{_ME})\s+(?P<d1>\d{{1,2}}){_TO}(?P<d2>\d{{1,2}})\b{_Y}")
_NUMERIC_RANGE = re.compile(r"(?<![\d.,])(?:с\s+|from\s+)?(?P<d1>\d{1,2})[./](?P<m1>\d{1,2})(?:[./](?P<y1>\d{2,4}))?"
                            r"\s*(?:-|по|до|to)\s*(?P<d2>\d{1,2})[./](?P<m2>\d{1,2})(?:[./](?P<y2>\d{2,4}))?(?!\d|[.,]\d)")
_SINGLE = re.compile(rf"(?P<pre>после|с|со|от|начиная с|from|after|до|по|until|till|by|before|обратно|вылет\w*)?\s*"
                     rf"\b(?P<d1>\d{{1,2}})\s+(?:of\s+)?(?P<m1>{_M}){_Y}")
_SINGLE_EN = re.compile(rf"(?P<pre>from|after|until|till|by|before|on)?\s*\b(?P<m1>{_ME})\s+(?P<d1>\d{{1,2}})\b{_Y}")
_NUMERIC_SINGLE = re.compile(r"(?P<pre>после|с|от|до|по|from|after|until|till|by|before)?\s*(?<![\d.,])"
                             r"(?P<d1>\d{1,2})[./](?P<m1>\d{1,2})(?:[./](?P<y1>\d{2,4}))?(?!\d|[.,]\d)"
                             r"(?!\s*(?:недел|ноч|дн|час|зв|\*|%|млн|тыс|к\b|k\b|лет|год))")
_RELATIVE = re.compile(r"\b(?:через|in)\s+(?:(?P<n>\d{1,2}|a|an|пару)\s+)?(?P<unit>дн\w*|день|недел\w*|месяц\w*|"
                       r"days?|weeks?|months?)")
_NAMED_RELATIVE = re.compile(r"\b(?P<w>на следующей неделе|следующей неделе|на следующую неделю|next week|"
                             r"в следующем месяце|следующем месяце|на следующий месяц|next month|послезавтра|завтра|"
                             r"tomorrow|на выходных|на этих выходных|на выходные|на эти выходные|this weekend|"
                             r"на этой неделе|на эту неделю|this week|сегодня|today)\b")
_DAY_PAIR = re.compile(r"\b(?P<w1>сегодня|завтра|today|tomorrow)\s*(?:-|или|либо|/|or)\s*"
                       r"(?P<w2>завтра|послезавтра|tomorrow|the day after tomorrow)\b")
_HOLIDAYS = (
    (re.compile(r"(?:на|в)?\s*майск\w*(?:\s+праздник\w*)?|may holidays"), (5, 1), (5, 10)),
    (re.compile(r"(?:на|в)?\s*новогодн\w*(?:\s+(?:праздник|каникул)\w*)?|(?:на|в)\s+новый\s+год|new year\w*"),
     (12, 28), (1, 8)),
    (re.compile(r"(?:на|в)?\s*наурыз\w*|nauryz"), (3, 20), (3, 25)),
    (re.compile(r"летн\w*\s+каникул\w*|summer (?:holidays|break)"), (6, 1), (8, 31)),
    (re.compile(r"зимн\w*\s+каникул\w*|winter (?:holidays|break)"), (12, 28), (1, 8)),
    (re.compile(r"весенн\w*\s+каникул\w*|spring (?:holidays|break)"), (3, 20), (3, 29)),
    (re.compile(r"осенн\w*\s+каникул\w*|autumn (?:holidays|break)"), (10, 27), (11, 2)),
)
_PART = (r"(?P<part>начал\w*|перв\w+\s+числ\w*|последн\w+\s+числ\w*|середин\w*|кон(?:ец|ц\w*)|перв\w+\s+половин\w*|втор\w+\s+половин\w*|перв\w+\s+декад\w*|"
         r"early|mid|late|end\s+of|beginning\s+of|start\s+of|the\s+end\s+of|the\s+beginning\s+of|"
         r"(?:the\s+)?(?:first|second)\s+half\s+of)")
_MONTH_PART = re.compile(rf"(?:в\s+|во\s+|in\s+)?{_PART}\s*-?\s*(?P<m1>{_M})")
_MONTHS = re.compile(rf"(?:\b(?:в|во|на|с|по|до|in|for|during|through)\s+)?(?P<m1>{_M_RU}\b|{_M_EN}\b|(?<=in )may\b)"
                     rf"(?:\s*(?:-|или|и|or|/|to|до|по)\s*(?:в\s+)?(?P<m2>{_M_RU}\b|{_M_EN_MAY}\b))?{_Y}")
_SEASONS = ((re.compile(r"\b(?:летом|на лето|этим летом|summer)\b"), 6, 8),
            (re.compile(r"\b(?:осенью|на осень|autumn|fall)\b"), 9, 11),
            (re.compile(r"\b(?:зимой|на зиму|winter)\b"), 12, 2),
            (re.compile(r"\b(?:весной|на весну|spring)\b"), 3, 5))
_TO_WORDS = {"до", "по", "until", "till", "by", "before", "обратно"}


def _month_number(token: str) -> int:
    token = token.lower()
    for stem, number in _MONTH_STEMS:
        if token.startswith(stem):
            return number
    raise ValueError(token)


@functools.lru_cache(maxsize=4096)
def _dateparser(phrase: str, today: dt.date) -> dt.date | None:
    """dateparser on a short phrase, relative to `today`, future dates preferred (cached)."""
    settings = {"RELATIVE_BASE": dt.datetime.combine(today, dt.time()), "PREFER_DATES_FROM": "future",
                "DATE_ORDER": "DMY"}
    parsed = dateparser.parse(phrase, languages=["ru", "en"], settings=settings)
    return parsed.date() if parsed else None


def _year(raw: str | None) -> int | None:
    if not raw:
        return None
    year = int(raw)
    return year + 2000 if year < 100 else year


def _resolve(day: int, month: int, year: int | None, not_before: dt.date) -> dt.date | None:
    """The date with that day and month, this year or the next so that it is not before `not_before`."""
    try:
        if year:
            return dt.date(year, month, day)
        found = dt.date(not_before.year, month, day)
        return found if found >= not_before else dt.date(not_before.year + 1, month, day)
    except ValueError:
        return None


def _day_month(day: str, month: str, year: str | None, today: dt.date, not_before: dt.date | None = None):
    """A "10 июня" / "June 10" phrase: dateparser reads the month name, then the year is chosen."""
    parsed = _dateparser(f"{int(day)} {month} {year or ''}".strip(), today)
    if parsed is None:
        return None
    return _resolve(parsed.day, parsed.month, _year(year), not_before or today)


def _month_span(month: int, year: int | None, today: dt.date) -> tuple[dt.date, dt.date]:
    if year is None:
        year = today.year if month >= today.month else today.year + 1
    start, end = dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    return max(start, today) if start <= today <= end else start, end


def _part_span(part: str, month: int, year: int | None, today: dt.date) -> tuple[dt.date, dt.date]:
    start, end = _month_span(month, year, today)
    first = start.replace(day=1)
    if part.startswith(("начал", "early", "beginning", "start", "the beginning", "перв", "first", "the first")):
        if "половин" in part or "half" in part:
            return max(first, start), first.replace(day=15)
        return max(first, start), first.replace(day=10)
    if part.startswith("последн"):
        return first.replace(day=21), end
    if part.startswith(("середин", "mid")):
        return first.replace(day=11), first.replace(day=20)
    if "половин" in part or "half" in part:  # вторая половина, second half
        return first.replace(day=16), end
    return first.replace(day=21), end


def _holiday(doc: _Doc, today: dt.date):
    for pattern, (m1, d1), (m2, d2) in _HOLIDAYS:
        m = pattern.search(doc.s)
        if m:
            doc.take(m)
            start = _resolve(d1, m1, None, today - dt.timedelta(days=3))
            end = _resolve(d2, m2, None, start)
            return start, end
    return None


def _relative(doc: _Doc, today: dt.date):
    m = _RELATIVE.search(doc.s)
    if m:
        n = m.group("n") or "1"
        n = "2" if n == "пару" else "1" if n in ("a", "an") else n
        unit = m.group("unit")
        word = ("дней" if unit.startswith(("дн", "ден", "day")) else
                "недели" if unit.startswith(("недел", "week")) else "месяца")
        found = _dateparser(f"через {n} {word}", today)
        doc.take(m)
        return found, None
    m = _DAY_PAIR.search(doc.s)
    if m:  # "завтра-послезавтра": a window of departure days
        doc.take(m)
        return _dateparser(m.group("w1"), today), _dateparser(m.group("w2"), today)
    m = _NAMED_RELATIVE.search(doc.s)
    if not m:
        return None
    doc.take(m)
    w = m.group("w")
    if "недел" in w and "след" in w or w == "next week":
        monday = today + dt.timedelta(days=7 - today.weekday())
        return monday, monday + dt.timedelta(days=6)
    if "месяц" in w or w == "next month":
        month, year = (1, today.year + 1) if today.month == 12 else (today.month + 1, today.year)
        return _month_span(month, year, today)
    if "выходн" in w or "weekend" in w:
        saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7)
        return saturday, saturday + dt.timedelta(days=1)
    if "недел" in w or w == "this week":
        return today, today + dt.timedelta(days=6 - today.weekday())
    return _dateparser(w, today), None


def _explicit(doc: _Doc, today: dt.date):
    """Ranges with days: "с 10 по 20 июня", "28 мая - 5 июня", "10.03-20.03", "June 10-20"."""
    for pattern in (_NUMERIC_RANGE, _RANGE_2M, _RANGE_2M_EN, _RANGE_1M, _RANGE_1M_EN):
        for m in doc.finditer(pattern):
            g = m.groupdict()
            if pattern is _NUMERIC_RANGE:
                start = _resolve(int(g["d1"]), int(g["m1"]), _year(g["y1"]), today) if 1 <= int(g["m1"]) <= 12 \
                    else None
                end = _resolve(int(g["d2"]), int(g["m2"]), _year(g["y2"]), start or today) \
                    if 1 <= int(g["m2"]) <= 12 else None
            else:
                start = _day_month(g["d1"], g["m1"], g.get("y"), today)
                end = _day_month(g["d2"], g.get("m2") or g["m1"], g.get("y"), today, start) if start else None
            if start and end:
                doc.take(m)
                return start, end
    return None


def _singles(doc: _Doc, today: dt.date):
    """One or two single dates: the first is the start (or the end after "до"), the second the end."""
    dates: list[tuple[dt.date, bool]] = []
    for pattern in (_SINGLE, _SINGLE_EN, _NUMERIC_SINGLE):
        for m in doc.finditer(pattern):
            g = m.groupdict()
            if pattern is _NUMERIC_SINGLE:
                if not 1 <= int(g["m1"]) <= 12:
                    continue
                found = _resolve(int(g["d1"]), int(g["m1"]), _year(g["y1"]), today)
            else:
                found = _day_month(g["d1"], g["m1"], g.get("y"), today)
            if found:
                doc.take(m)
                dates.append((found, (g.get("pre") or "") in _TO_WORDS))
    if not dates:
        return None
    dates.sort(key=lambda item: item[0])
    if len(dates) == 1:
        found, is_end = dates[0]
        return (None, found) if is_end else (found, None)
    return dates[0][0], dates[-1][0]


_DAY_OF_MONTH = re.compile(r"\b(?:с|со|после|from)\s+(?P<d>\d{1,2})(?:-?го)?\s+(?:числа|числах)")


def _months(doc: _Doc, today: dt.date):
    """Month parts, months and seasons: "в начале июня", "в марте", "июнь-июль", "летом"; "с 20 числа"."""
    spans = []
    day = _DAY_OF_MONTH.search(doc.s)
    if day:
        doc.take(day)
    for m in doc.finditer(_MONTH_PART):
        spans.append(_part_span(m.group("part"), _month_number(m.group("m1")), None, today))
        doc.take(m)
    for m in doc.finditer(_MONTHS):
        year = _year(m.group("y"))
        first = _month_span(_month_number(m.group("m1")), year, today)
        spans.append(first)
        if m.group("m2"):
            second = _month_span(_month_number(m.group("m2")), year, today)
            if second[1] < first[0]:
                second = _month_span(_month_number(m.group("m2")), first[0].year + 1, today)
            spans.append(second)
        doc.take(m)
    if not spans:
        for pattern, first_month, last_month in _SEASONS:
            m = pattern.search(doc.s)
            if m:
                start, _ = _month_span(first_month, None, today)
                end_year = start.year + (1 if last_month < first_month else 0)
                spans.append((start, _month_span(last_month, end_year, today)[1]))
                doc.take(m)
                break
    if not spans:
        return None
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    if day and 1 <= int(day.group("d")) <= 28:
        start = max(start, start.replace(day=int(day.group("d"))))
    return start, end if (end - start).days <= 200 else None


def _dates(doc: _Doc, today: dt.date) -> None:
    for step in (_holiday, _explicit, _relative, _singles, _months):
        found = step(doc, today)
        if found:
            start, end = found
            if start and end and end < start:
                end = None
            doc.found.update(date_from=start, date_to=end)
            return


# ---------- nights ----------

_NIGHTS_RANGE = re.compile(r"(?:от\s+)?\b(?P<a>\d{1,2})\s*(?:-|до|или|or|to|/|\s)\s*(?P<b>\d{1,2})\s*"
                           r"(?:ноч\w*|nights?|nts)")
_NIGHTS_AFTER = re.compile(r"\b(?P<unit>дн\w*|ноч\w*)\s+(?:на\s+)?(?P<a>\d{1,2})(?:\s*-\s*(?P<b>\d{1,2}))?\b"
                           r"(?!\s*(?:\d|\+|\*|зв|ноч|дн|взр|дет|реб|чел|лет|год|тыс|млн|\$|[.]\d))")
_NIGHTS = re.compile(r"\b(?P<a>\d{1,2})\s*-?\s*(?:ноч\w*|nights?|nts|н\b)")
_DAYS_RANGE = re.compile(r"\b(?P<a>\d{1,2})\s*(?:-|до|или|or|to)\s*(?P<b>\d{1,2})\s*(?:дн\w*|день|сут\w*|days?)")
_DAYS = re.compile(r"\b(?P<a>\d{1,2})\s*-?\s*(?:дн\w*|день|сут\w*|days?)\b")
_WEEK_DAYS = re.compile(r"(?:на\s+)?недел\w*\s*(?:-|или|до)\s*(?P<b>\d{1,2})\s*(?:дн\w*|день|ноч\w*)")
_WEEKS = re.compile(r"(?:\b(?P<a>\d{1,2}(?:[.,]5)?)\s*(?:-|до|или|or|to)\s*)?(?:\b(?P<b>\d{1,2}(?:[.,]5)?)\s*)?"
                    r"(?:недел\w*|weeks?)\b")
_A_WEEK = re.compile(r"\b(?:на\s+)?недел(?:ю|ька|ьку|я)\b|\b(?:a|one|for a)\s+week\b")


def _weeks(value: str | None) -> int | None:
    return round(float(value.replace(",", ".")) * 7 - 0.01) if value else None


# time that has passed, not the length of a trip: "жду уже 2 дня", "неделю назад", "waiting for 3 days"
_ELAPSED = re.compile(r"(?:\b(?:жд[уеё]\w*|уже|waiting|waited)\s+(?:(?:уже|for|already)\s+)?(?:\d{1,2}\s*)?"
                      r"(?:дн\w*|день|сут\w*|недел\w*|месяц\w*|days?|weeks?|months?)\b)|"
                      r"(?:\b(?:\d{1,2}\s*)?(?:дн\w*|день|недел\w*|месяц\w*|days?|weeks?|months?)\s+(?:назад|ago)\b)")


def _nights(doc: _Doc) -> None:
    for m in doc.finditer(_ELAPSED):
        doc.take(m)
    found = None
    if (m := _NIGHTS_RANGE.search(doc.s)) and int(m.group("a")) < int(m.group("b")):
        found = (int(m.group("a")), int(m.group("b")))
    elif m := _NIGHTS.search(doc.s):
        found = (int(m.group("a")), int(m.group("a")))
    elif m := _NIGHTS_AFTER.search(doc.s):
        less = 1 if m.group("unit").startswith("дн") else 0
        found = (int(m.group("a")) - less, int(m.group("b") or m.group("a")) - less)
    elif m := _WEEK_DAYS.search(doc.s):
        found = (7, int(m.group("b")) - (1 if "ноч" not in m.group(0) else 0))
    elif m := _DAYS_RANGE.search(doc.s):
        found = (int(m.group("a")) - 1, int(m.group("b")) - 1)
    elif m := _DAYS.search(doc.s):
        found = (int(m.group("a")) - 1, int(m.group("a")) - 1)
    elif (m := _WEEKS.search(doc.s)) and (m.group("a") or m.group("b")):
        low, high = _weeks(m.group("a") or m.group("b")), _weeks(m.group("b"))
        found = (low, high or low)
    elif m := _A_WEEK.search(doc.s):
        found = (7, 7)
    if found and m:
        doc.take(m)
        low, high = sorted(found)
        if 1 <= low <= 60 and high <= 60:
            doc.found.update(nights_min=low, nights_max=high)


# ---------- travellers ----------

_CHILD = r"(?:р[еи]б\w*|дет\w*|дит\w*|сын\w*|доч\w*|малыш\w*|младен\w*|внук\w*|внучк\w*|мальчик\w*|девочк\w*|" \
         r"школьник\w*|подрост\w*|child\w*|kids?|son|daughter|boy|girl|baby|toddler|infant|teen\w*)"
_AGE_LIST = re.compile(r"(?P<list>(?:\d{1,2}(?:[.,]5)?\s*(?:,|и|and|&)\s*)*\d{1,2}(?:[.,]5)?)\s*"
                       r"(?P<unit>лет|л\b|годик\w*|года?\b|г\.|yo\b|y\.o\.?|years?\s*old|years?|yrs?|мес\w*|months?)")
_PAREN_AGES = re.compile(r"\(\s*(?P<list>(?:\d{1,2}\s*(?:,|и|and|&|/)\s*)*\d{1,2})\s*(?:лет|года?|г\.?|y\.?o\.?)?\s*\)")
_KIDS_AGES = re.compile(rf"{_CHILD}\s?(?:aged|ages?|возраст\w*)?\s?[:(-]?\s?(?P<list>(?:\d{{1,2}}\s*(?:,|и|and|&)\s*)+\d{{1,2}}|\d{{1,2}})\b"
                        r"(?!\s*(?:\+|\*|взр|ноч|дн|недел|чел|зв|\d))")
_PLUS = re.compile(r"(?<![\d+])\b(?P<a>[1-9])\s*\+\s*(?P<c>[0-9])\b(?![\d+])")
_ADULTS = re.compile(r"\b(?P<n>\d{1,2})\s*(?:-?х\s+)?(?:взросл\w*|взр\b\.?|adu?l?ts?\b|adl\b)|"
                     r"\bнас\s+(?P<n2>\d)\s*\+\s*(?:р[еи]б|дет|малыш|сын|доч)")
_KIDS = re.compile(r"\b(?P<n>\d{1,2})\s*(?:-?х\s+)?(?:детей|детьми|дет\w*|р[еи]бен\w*|ребят\w*|реб\b\.?|children|"
                   r"kids?|child|малыш\w*|школьник\w*)")
_TOTAL = re.compile(r"(?:\b(?P<n>\d{1,2})\s*(?:чел\w*|человек\w*|persons?|people|pax|персон\w*|туриста?\b|туристов)|"
                    r"\bнас\s+(?P<n2>\d{1,2})\b|family of (?P<n3>\d)|(?:семья|семьей) из (?P<n4>\d))")
_PAIR = re.compile(r"вдвоем|для двоих|на двоих|\bfor (?:2|two)\b(?!\s*(?:weeks?|nights?|days?))|\b(?:the )?(?:2|two) "
                   r"of us\b|\bcouple\b|молодожен\w*|медов\w+ месяц\w*|honeymoon|\bme and my (?:wife|husband|"
                   r"girlfriend|boyfriend|partner)\b|\bmy (?:wife|husband) and i\b")
_GROUP = (("втроем", 3), ("вчетвером", 4), ("впятером", 5), ("вшестером", 6))
_COMPANION = re.compile(r"(?:\b(?:с|со|with|and|и|my)\s+(?:\w+\s+)?)(?:муж\w*|жен(?:ой|а|у)\b|супруг\w*|подруг(?:ой|а)\b|"
                        r"друг(?:ом)?\b|парн(?:ем)\b|девушк(?:ой)\b|мам(?:ой|ою)\b|пап(?:ой)\b|сестр(?:ой)\b|брат(?:ом)\b|"
                        r"бабушк\w*|дедушк\w*|свекров\w*|тещ\w*|husband|wife|boyfriend|girlfriend|friend\b|mom\b|"
                        r"mum\b|mother|dad\b|father|sister|brother|partner|fianc\w*)")
_SOLO = re.compile(r"\b(?:я\s+)?(?:один|одна)\b(?!\s*(?:реб|из|раз|ден|недел|ноч|отел|номер|взр|дет))|\bsolo\b|"
                   r"\balone\b|\bby myself\b|\bjust me\b|\b1 (?:person|adult|человек\w*|взросл\w*)\b|"
                   r"для одного|на одного|одноместн\w*")
_ONE_CHILD = re.compile(r"\b(?:р[еи]б[её]нок|р[еи]б[её]нка|р[еи]б[её]нком|малыш\w*|младен\w*|сын|сына|сыном|сынок|"
                        r"сыночк\w*|доч[ьк]\w*|дочер\w*|внук|внуком|внучк\w*|a (?:child|kid|baby|toddler)|"
                        r"(?:my|our) (?:son|daughter|child|kid|baby))\b")
_NO_KIDS = re.compile(r"без детей|no kids|without (?:kids|children)|детей нет")
_SINGLE_PARENT = re.compile(r"\b(?:я|мама|папа|mom|mum|dad|i)\s+(?:с|со|with)\s+(?:\w+\s+)?(?:реб|сын|доч|малыш|"
                            r"дет|my son|my daughter|my kid|kids|child)")


def _ages(doc: _Doc) -> list[int]:
    ages: list[int] = []
    for pattern in (_PAREN_AGES, _AGE_LIST, _KIDS_AGES):
        for m in doc.finditer(pattern):
            if pattern is _AGE_LIST:
                before = doc.s[max(0, m.start() - 45):m.start()]
                if not re.search(_CHILD, before) and not re.search(r"\+\s*\d\s*\($", before):
                    continue
            numbers = [float(n.replace(",", ".")) for n in re.findall(r"\d{1,2}(?:[.,]5)?", m.group("list"))]
            months = (m.groupdict().get("unit") or "").startswith(("мес", "month"))
            found = [0 if months else int(n) for n in numbers]
            if found and all(0 <= a <= 17 for a in found):
                ages += found
                doc.take(m)
    return ages


def _travellers(doc: _Doc) -> None:
    s = doc.s
    ages = _ages(doc)
    adults = children = None
    if m := _PLUS.search(doc.s):
        adults, children = int(m.group("a")), int(m.group("c"))
        doc.take(m)
    if m := _ADULTS.search(doc.s):
        adults = int(m.group("n") or m.group("n2"))
    if m := _KIDS.search(doc.s):
        children = int(m.group("n"))
    elif children is None and _NO_KIDS.search(s):
        children = 0
    if children is None:
        singles = len(_ONE_CHILD.findall(s))
        children = len(ages) if ages else (singles or None)
    if adults is None:
        adults = _adults_from_words(doc.words, doc, children)
    doc.found.update(adults=adults if adults is None or 1 <= adults <= 20 else None,
                     children=children if children is None or 0 <= children <= 10 else None,
                     children_ages=ages if children and len(ages) == children else [])


def _adults_from_words(s: str, doc: _Doc, children: int | None) -> int | None:
    if m := _TOTAL.search(doc.s):
        total = int(next(g for g in m.groups() if g))
        if m.group("n4") or m.group("n3"):
            return total - children if children is not None and total > children else None
        return total - (children or 0) if total > (children or 0) else total
    if _PAIR.search(s):
        return 2
    for word, total in _GROUP:
        if word in s:
            return total - (children or 0) if total > (children or 0) else None
    companions = len(_COMPANION.findall(s))
    if companions:
        return 1 + companions
    if _SOLO.search(s) or (children and _SINGLE_PARENT.search(s)):
        return 1
    return None


# ---------- hotel ----------

_STARS = re.compile(r"\b(?P<a>[1-5])\s*(?:-\s*(?P<b>[1-5]))?\s*\+?\s*(?:\*|зв\w*|-?\s*stars?\b|star\b)")
_STAR_WORDS = (("пятерк", 5), ("пятерочк", 5), ("четверк", 4), ("five star", 5), ("four star", 4))
MEALS = (
    ("UAI", re.compile(r"ультра\s*(?:все|олл|ол|all)?\s*(?:включено|инклюзив\w*|inclusive)?|ultra\s*all|\buai\b")),
    ("AI", re.compile(r"все\s*включено|всевключено|ол+\s*инклю\w*|all\s*-?\s*inclusive|allinclusive|\bai\b|"
                      r"инклюзив\w*|\bвсе вкл")),
    ("FB", re.compile(r"полн\w*\s*пансион\w*|full\s*board|\bfb\b|трехразов\w*")),
    ("HB", re.compile(r"полупансион\w*|half\s*board|\bhb\b|завтрак\w*\s*(?:и|\+|,)\s*ужин\w*|"
                      r"breakfast\s*(?:and|&|\+)\s*dinner")),
    ("RO", re.compile(r"без\s*питания|room\s*only|\bro\b|питание\s*не\s*нужно|no\s*meals")),
    ("BB", re.compile(r"завтрак\w*|breakfast|\bbb\b")),
)


def _hotel(doc: _Doc) -> None:
    stars = None
    if m := _STARS.search(doc.s):
        stars = int(m.group("a"))
        doc.take(m)
    else:
        stars = next((n for word, n in _STAR_WORDS if word in doc.s), None)
    meal = next((code for code, pattern in MEALS if pattern.search(doc.s)), None)
    doc.found.update(hotel_stars=stars, meal=meal)


# ---------- places ----------

_NEGATION = {"не", "кроме", "not", "except", "без", "был", "были", "была", "ездили", "летали", "вернулись",
             "вернулся", "вернулась", "прилетели"}
_ORIGIN = {"из", "from"}  # "вернулись из Нячанга": a resort or country is never where the customer flies from
# what follows a place and rules it out: "в Нячанге были", "Турцию не хотим"
_NEGATION_AFTER = re.compile(r"^(?:уже\s+)?(?:был[аи]?|ездил\w*|летал\w*|отдыхал\w*)\b|"
                             r"^не\s+(?:хо[тч]\w*|рассматрива\w*|интерес\w*|нужн\w*|надо|предлага\w*|понрав\w*|"
                             r"нрав\w*)")


def _places(doc: _Doc) -> None:
    words = gazetteer.normalize(doc.s).split()
    resorts, countries, cities = [], [], []
    i = 0
    while i < len(words):
        place, width = None, 1
        for n in (3, 2, 1):
            if i + n <= len(words):
                place = gazetteer.lookup(" ".join(words[i:i + n]))
                if place:
                    width = n
                    break
        if place is None and not words[i].isdigit():
            place = gazetteer.fuzzy(words[i])
        if place is not None:
            before = words[max(0, i - 2):i]
            after = " ".join(words[i + width:i + width + 2])
            if place.kind == "city":
                cities.append(place.name)
            elif not (_NEGATION & set(before) or (before and before[-1] in _ORIGIN) or _NEGATION_AFTER.search(after)):
                (resorts if place.kind == "resort" else countries).append(place)
        i += width
    resort_names = list(dict.fromkeys(p.name for p in resorts))
    # alternatives in different countries ("Египет или ОАЭ") leave the country open, as two resorts leave the resort
    country_names = list(dict.fromkeys([*(p.country for p in resorts), *(p.name for p in countries)]))
    doc.found.update(country=country_names[0] if len(country_names) == 1 else None,
                     resort=resort_names[0] if len(resort_names) == 1 else None,
                     departure_city=cities[0] if cities else None)


# ---------- intent, language, confidence ----------

_COMPLAINT = re.compile(r"жалоб|ужасн|недовол|возмущ|безобраз|обман|верните\s+деньг|вернуть\s+деньг|возврат\w*\s+"
                        r"(?:денег|средств)|претензи|кошмар|отвратител|хамств|complain|terrible|awful|refund|"
                        r"disappointed|\bscam\b|worst|unacceptable")
_HUMAN = re.compile(r"позовите|живо\w*\s+(?:человек|менеджер|оператор)|соедините|свяжитесь\s+со\s+мной|перезвон\w*|"
                    r"связаться\s+(?:со\s+мной|с\s+вами\s+по\s+телефону|по\s+телефону)|созвониться|"
                    r"позвоните|наберите\s+мне|поговорить\s+с\s+(?:менеджер|человек|оператор)|с\s+менеджером|"
                    r"\bоператор|не\s+(?:с\s+)?бот|call\s+me|call\s+back|\bhuman\b|real\s+person|speak\s+(?:to|with)|"
                    r"talk\s+to\s+(?:a|an|the)?\s*(?:manager|agent|person)|\boperator\b")
_BOOKING = re.compile(r"заброн\w*|бронир\w*|\bбронь\b|оформ(?:ить|ляем|им|ляйте)|\bберем\b|\bберу\b|\bbook\b|"
                      r"booking|reserve|we(?:'ll)?\s+take\s+it|хотим\s+взять|хочу\s+взять")
_PAYING = re.compile(r"готов\w*\s+(?:оплатить|платить)|оплат\w*|предоплат\w*|ready\s+to\s+pay|\bpay\b")
_QUESTION = re.compile(r"\?|подскажите|сколько\s+стоит|нужн\w+\s+ли|\bвиз\w*|документ|можно\s+ли|есть\s+ли|\bкак\s+|"
                       r"\bwhat\b|\bhow\b|is\s+there|do\s+(?:i|we)\s+need|can\s+(?:i|we)|\bvisa\b")
# questions about the trip's conditions rather than a request for tours: "Какая погода в Нячанге в декабре?"
_INFO = re.compile(r"погод\w*|климат\w*|температур\w*|\bвиз[аыуе]\b|документ\w*|страховк\w*|прививк\w*|"
                   r"сезон\w*\s+дожд\w*|\bweather\b|\bclimate\b|\bvisas?\b|\bdocuments?\b|\binsurance\b|"
                   r"\bvaccin\w*|rainy\s+season")
_GREETING = re.compile(r"^\W*(?:здравствуйте|здрасте|привет\w*|добрый\s+(?:день|вечер)|доброе\s+утро|салем|сәлем|"
                       r"салам|hello|hi|hey|good\s+(?:morning|afternoon|evening))\b")
_TOUR = re.compile(r"\bтур\b|\bтура\b|\bтуры\b|\bтуров\b|путевк\w*|отдых\w*|поехать|полететь|слетать|съездить|"
                   r"отдохнуть|поездк\w*|горящ\w*|отпуск\w*|\btrip\b|\btours?\b|holiday|vacation|\btravel|"
                   r"\bpackage\b|хотим\s+(?:в|во|на)\b|хочу\s+(?:в|во|на)\b|want\s+to\s+go")
GROUPS = ("destination", "dates", "nights", "travellers", "budget")


def _groups(found: dict) -> list[str]:
    present = {
        "destination": found.get("country") or found.get("resort"),
        "dates": found.get("date_from") or found.get("date_to"),
        "nights": found.get("nights_min"),
        "travellers": found.get("adults") is not None or bool(found.get("children")),
        "budget": found.get("budget"),
    }
    return [g for g in GROUPS if present[g]]


def _intent(s: str, found: dict) -> str:
    groups = _groups(found)
    if _COMPLAINT.search(s):
        return "complaint"
    if _HUMAN.search(s):
        return "human_request"
    if _BOOKING.search(s) or (_PAYING.search(s) and not _QUESTION.search(s)):
        return "booking"
    trip = [g for g in groups if g != "destination"]
    if not found.get("adults") and trip == ["travellers"]:
        trip = []
    if trip == ["dates"] and _INFO.search(s) and _QUESTION.search(s):
        trip = []  # where and when, asked about the weather or a visa: a question, not yet a search
    if trip:
        return "tour_search"
    if _QUESTION.search(s):
        return "question"
    if groups or _TOUR.search(s):
        return "tour_search"
    if _GREETING.search(s):
        return "greeting"
    return "other"


def _language(text: str) -> str | None:
    """ru or en by the letters; Russian typed in Latin letters (see `_is_translit`) is ru."""
    cyrillic = len(re.findall(r"[а-яёәғқңөұүһі]", text, re.IGNORECASE))
    latin = len(re.findall(r"[a-z]", text, re.IGNORECASE))
    if not cyrillic and not latin:
        return None
    return "ru" if cyrillic >= latin or _is_translit(text) else "en"


def _confidence(intent: str, found: dict) -> float:
    groups = len(_groups(found))
    base = {"tour_search": 0.45 + 0.08 * groups, "booking": 0.6 + 0.04 * groups, "complaint": 0.75,
            "human_request": 0.75, "question": 0.55, "greeting": 0.6, "other": 0.3}[intent]
    return round(min(base, 0.9), 2)


def extract(text: str, *, today: dt.date) -> Extraction:
    """Read one inquiry offline; every field the text does not state stays None."""
    text = (text or "")[:4000]
    name = _name(text)
    rest, email, phone = _contacts(text)
    lowered = _lower(rest)
    if _is_translit(lowered):
        lowered = _to_cyrillic(lowered)
    doc = _Doc(_prepare(lowered), words=lowered)
    _money(doc)
    _dates(doc, today)
    _nights(doc)
    _travellers(doc)
    _hotel(doc)
    _places(doc)
    found = doc.found
    if found.pop("per_person", False) and found.get("budget") and found.get("adults"):
        found["budget"] *= found["adults"]
    intent = _intent(lowered, found)
    return Extraction(intent=intent, name=name, phone=phone, email=email, language=_language(text),
                      confidence=_confidence(intent, found), engine="rules", **found)
