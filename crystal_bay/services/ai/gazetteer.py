"""Destinations the agency sells and the cities customers fly from, with the names people type.

Canonical names are Russian (what managers see on the card); each entry lists the English name,
Russian case forms that stemming does not reach, common misspellings and Kazakh-Russian
transliterations. `lookup()` resolves a phrase exactly (after stemming); `fuzzy()` catches typos
with rapidfuzz. Both work on text normalised by `normalize()`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process


@dataclass(frozen=True)
class Place:
    """A country, a resort (with its country) or a departure city."""

    kind: str  # country | resort | city
    name: str  # canonical Russian name
    country: str | None = None  # for resorts: the canonical country


# canonical country → aliases (ru, en, misspellings, transliteration)
COUNTRIES: dict[str, tuple[str, ...]] = {
    "Вьетнам": ("вьетнам", "вьетнаме", "вьетнама", "вьетнаму", "вьетнан", "вьетнамм", "вьентам", "ветнам",
                "вьетнамчик", "vietnam", "viet nam", "vietnamm", "vetnam", "vietnamese", "вьетнамский"),
    "Турция": ("турция", "турцию", "турции", "турцыя", "турецкий", "turkey", "turkiye", "türkiye", "turkie"),
    "ОАЭ": ("оаэ", "эмираты", "эмиратах", "эмиратов", "арабские эмираты", "uae", "emirates", "united arab emirates",
            "u a e"),
    "Египет": ("египет", "египте", "египта", "египт", "egypt", "egipet"),
    "Таиланд": ("таиланд", "тайланд", "таиланде", "тайланде", "тай", "thailand", "tailand", "thai"),
    "Китай": ("китай", "китае", "китая", "china"),
    "Шри-Ланка": ("шри ланка", "шриланка", "шри ланку", "шри ланке", "цейлон", "sri lanka", "srilanka", "ceylon"),
    "Мальдивы": ("мальдивы", "мальдивах", "мальдивов", "мальдив", "maldives", "maldivy"),
    "Грузия": ("грузия", "грузию", "грузии", "georgia", "sakartvelo"),
    "Индонезия": ("индонезия", "индонезию", "индонезии", "indonesia"),
    "Малайзия": ("малайзия", "малайзию", "малайзии", "malaysia"),
    "Индия": ("индия", "индию", "индии", "india"),
    "Кипр": ("кипр", "кипре", "cyprus"),
    "Греция": ("греция", "грецию", "греции", "greece"),
    "Черногория": ("черногория", "черногорию", "черногории", "montenegro"),
    "Танзания": ("танзания", "танзанию", "танзании", "tanzania"),
    "Маврикий": ("маврикий", "маврикии", "mauritius"),
    "Сейшелы": ("сейшелы", "сейшелах", "сейшельские острова", "seychelles"),
    "Южная Корея": ("южная корея", "корея", "корею", "корее", "south korea", "korea"),
    "Япония": ("япония", "японию", "японии", "japan"),
    "Узбекистан": ("узбекистан", "узбекистане", "uzbekistan"),
    "Кыргызстан": ("кыргызстан", "киргизия", "киргизию", "кыргызстане", "kyrgyzstan"),
    "Азербайджан": ("азербайджан", "азербайджане", "azerbaijan"),
    "Армения": ("армения", "армению", "армении", "armenia"),
    "Оман": ("оман", "омане", "oman"),
    "Катар": ("катар", "катаре", "qatar"),
    "Тунис": ("тунис", "тунисе", "tunisia"),
    "Италия": ("италия", "италию", "италии", "italy"),
    "Испания": ("испания", "испанию", "испании", "spain"),
    "Франция": ("франция", "францию", "франции", "france"),
}

# canonical resort → (country, aliases)
RESORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Vietnam, the agency's main destination
    "Нячанг": ("Вьетнам", ("нячанг", "нячанге", "ня чанг", "нячан", "нечанг", "нья чанг", "нячнг", "нячанк",
                           "nha trang", "nhatrang", "nyachang", "nha-trang", "камрань", "кам рань", "cam ranh")),
    "Фукуок": ("Вьетнам", ("фукуок", "фу куок", "фукок", "фукуоке", "фуквок", "фукуак", "phu quoc", "phuquoc",
                           "fukuok", "phu-quoc")),
    "Дананг": ("Вьетнам", ("дананг", "да нанг", "дананге", "дананг", "da nang", "danang", "da-nang")),
    "Фантьет": ("Вьетнам", ("фантьет", "фан тьет", "фантьете", "фантиет", "фантьета", "phan thiet", "phanthiet")),
    "Муйне": ("Вьетнам", ("муйне", "муй не", "муине", "муйнэ", "mui ne", "muine")),
    "Хойан": ("Вьетнам", ("хойан", "хой ан", "хоян", "хойане", "hoi an", "hoian")),
    "Далат": ("Вьетнам", ("далат", "да лат", "далате", "dalat", "da lat")),
    "Ханой": ("Вьетнам", ("ханой", "ханое", "hanoi", "ha noi")),
    "Хошимин": ("Вьетнам", ("хошимин", "хо ши мин", "хошимине", "хошимина", "сайгон", "сайгоне", "ho chi minh",
                            "hochiminh", "ho chi minh city", "hcmc", "saigon")),
    "Халонг": ("Вьетнам", ("халонг", "ха лонг", "халонге", "ha long", "halong")),
    # Turkey
    "Анталья": ("Турция", ("анталья", "анталия", "анталью", "анталии", "антали", "antalya")),
    "Аланья": ("Турция", ("аланья", "алания", "аланью", "алании", "alanya")),
    "Кемер": ("Турция", ("кемер", "кемере", "kemer")),
    "Сиде": ("Турция", ("сиде",)),
    "Белек": ("Турция", ("белек", "белеке", "belek")),
    "Бодрум": ("Турция", ("бодрум", "бодруме", "bodrum")),
    "Мармарис": ("Турция", ("мармарис", "мармарисе", "marmaris")),
    "Стамбул": ("Турция", ("стамбул", "стамбуле", "istanbul")),
    # UAE
    "Дубай": ("ОАЭ", ("дубай", "дубаи", "дубае", "дубаю", "дубайск", "dubai", "dubay")),
    "Абу-Даби": ("ОАЭ", ("абу даби", "абудаби", "abu dhabi", "abudhabi")),
    "Шарджа": ("ОАЭ", ("шарджа", "шарджу", "шардже", "sharjah")),
    "Рас-эль-Хайма": ("ОАЭ", ("рас эль хайма", "рас аль хайма", "ras al khaimah")),
    "Фуджейра": ("ОАЭ", ("фуджейра", "фуджейру", "fujairah")),
    # Egypt
    "Шарм-эль-Шейх": ("Египет", ("шарм эль шейх", "шарм", "шарме", "sharm el sheikh", "sharm")),
    "Хургада": ("Египет", ("хургада", "хургаду", "хургаде", "hurghada")),
    "Марса-Алам": ("Египет", ("марса алам", "marsa alam")),
    # Thailand
    "Пхукет": ("Таиланд", ("пхукет", "пхукете", "пукет", "phuket")),
    "Паттайя": ("Таиланд", ("паттайя", "патайя", "паттайю", "паттайе", "pattaya")),
    "Самуи": ("Таиланд", ("самуи", "ко самуи", "samui", "koh samui")),
    "Краби": ("Таиланд", ("краби", "krabi")),
    "Бангкок": ("Таиланд", ("бангкок", "бангкоке", "bangkok")),
    # China
    "Хайнань": ("Китай", ("хайнань", "хайнане", "хайнан", "санья", "санье", "hainan", "sanya")),
    "Пекин": ("Китай", ("пекин", "пекине", "beijing")),
    "Шанхай": ("Китай", ("шанхай", "шанхае", "shanghai")),
    "Урумчи": ("Китай", ("урумчи", "urumqi")),
    # Sri Lanka
    "Хиккадува": ("Шри-Ланка", ("хиккадува", "хикадува", "hikkaduwa")),
    "Бентота": ("Шри-Ланка", ("бентота", "bentota")),
    "Унаватуна": ("Шри-Ланка", ("унаватуна", "unawatuna")),
    # Georgia
    "Батуми": ("Грузия", ("батуми", "batumi")),
    "Тбилиси": ("Грузия", ("тбилиси", "tbilisi")),
    # elsewhere
    "Бали": ("Индонезия", ("бали", "bali")),
    "Гоа": ("Индия", ("гоа", "goa")),
    "Занзибар": ("Танзания", ("занзибар", "занзибаре", "zanzibar")),
    "Лангкави": ("Малайзия", ("лангкави", "langkawi")),
    "Крит": ("Греция", ("крит", "крите", "crete")),
    "Иссык-Куль": ("Кыргызстан", ("иссык куль", "иссыккуль", "иссык куле", "issyk kul", "чолпон ата")),
    "Самарканд": ("Узбекистан", ("самарканд", "samarkand")),
    "Баку": ("Азербайджан", ("баку", "baku")),
    "Чеджу": ("Южная Корея", ("чеджу", "jeju")),
}

# departure cities (Kazakhstan first), canonical → aliases; a mention is read as the departure city
CITIES: dict[str, tuple[str, ...]] = {
    "Алматы": ("алматы", "алма ата", "алмата", "алмате", "алмаата", "almaty", "alma ata", "алмат"),
    "Астана": ("астана", "астаны", "астане", "астану", "нур султан", "nur sultan", "astana"),
    "Шымкент": ("шымкент", "шымкента", "шымкенте", "чимкент", "shymkent"),
    "Караганда": ("караганда", "караганды", "карагандой", "караганде", "karaganda"),
    "Актау": ("актау", "aktau"),
    "Атырау": ("атырау", "atyrau"),
    "Актобе": ("актобе", "актюбинск", "aktobe"),
    "Усть-Каменогорск": ("усть каменогорск", "оскемен", "ust kamenogorsk", "oskemen"),
    "Павлодар": ("павлодар", "павлодара", "pavlodar"),
    "Костанай": ("костанай", "костаная", "кустанай", "kostanay"),
    "Тараз": ("тараз", "тараза", "taraz"),
    "Кызылорда": ("кызылорда", "кызылорды", "kyzylorda"),
    "Уральск": ("уральск", "уральска", "uralsk"),
    "Туркестан": ("туркестан", "туркестана", "turkestan"),
    "Бишкек": ("бишкек", "бишкека", "bishkek"),
    "Ташкент": ("ташкент", "ташкента", "tashkent"),
    "Москва": ("москва", "москвы", "moscow"),
    "Новосибирск": ("новосибирск", "новосибирска", "novosibirsk"),
}

# Russian endings stripped (longest first) so that "Турцию", "Нячанге", "Мальдивах" meet their entries
ENDINGS = ("ами", "ями", "ого", "ему", "ах", "ях", "ой", "ей", "ом", "ем", "ию", "ии", "ия", "ью", "ье", "ую",
           "а", "я", "у", "ю", "е", "ы", "и", "о", "й", "ь")
_CYRILLIC = re.compile(r"[а-я]")
_NON_WORD = re.compile(r"[^0-9a-zа-я]+")


def normalize(text: str) -> str:
    """Lower case, ё→е, Vietnamese/Turkish diacritics dropped, punctuation and hyphens → single spaces."""
    text = text.lower().replace("ё", "е").replace("ü", "u").replace("ö", "o").replace("ç", "c").replace("ş", "s")
    return _NON_WORD.sub(" ", text).strip()


def stem(word: str) -> str:
    """A Cyrillic word without its case ending (at least 3 letters stay); Latin words as they are."""
    if not _CYRILLIC.search(word):
        return word
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _key(phrase: str) -> str:
    words = normalize(phrase).split()
    return " ".join([*words[:-1], stem(words[-1])]) if words else ""


@functools.cache
def index() -> dict[str, Place]:
    """Every alias (stemmed key, and its spaceless form) → the place it names."""
    entries: dict[str, Place] = {}

    def add(alias: str, place: Place) -> None:
        for key in (_key(alias), _key(alias).replace(" ", "")):
            if key and len(key) >= 2:
                entries.setdefault(key, place)

    for name, (country, aliases) in RESORTS.items():
        for alias in (name, *aliases):
            add(alias, Place("resort", name, country))
    for name, aliases in COUNTRIES.items():
        for alias in (name, *aliases):
            add(alias, Place("country", name))
    for name, aliases in CITIES.items():
        for alias in (name, *aliases):
            add(alias, Place("city", name))
    return entries


# Kazakh case suffixes on place names ("Астанадан" from Astana, "Алматыда" in Almaty); the dative ("Нячангқа")
# needs none: normalize() drops the Kazakh letters ғ/қ, which splits the suffix off
KAZAKH_SUFFIXES = re.compile(r"(?<=[а-я]{3})(?:дан|ден|тан|тен|нан|нен|да|де|та|те)$")


def lookup(phrase: str) -> Place | None:
    """The place an already-normalised phrase of 1–3 words names exactly (after stemming), if any."""
    key = _key(phrase)
    entries = index()
    found = entries.get(key) or entries.get(key.replace(" ", ""))
    if found is None and " " not in phrase and (bare := KAZAKH_SUFFIXES.sub("", phrase)) != phrase:
        found = entries.get(_key(bare))
    return found


@functools.cache
def _fuzzy_choices() -> tuple[list[str], list[Place]]:
    keys, places = [], []
    for key, place in index().items():
        if len(key) >= 5 and " " not in key:
            keys.append(key)
            places.append(place)
    return keys, places


def fuzzy(word: str, *, cutoff: float = 84.0) -> Place | None:
    """A misspelt single word ("Нячнг", "вьетнан", "Фукок") → its place; same first letter required."""
    word = stem(word)
    if len(word) < 5:
        return None
    keys, places = _fuzzy_choices()
    found = process.extractOne(word, keys, scorer=fuzz.ratio, score_cutoff=cutoff)
    if found is None or found[0][0] != word[0]:
        return None
    return places[found[2]]


def country_names() -> list[str]:
    return list(COUNTRIES)


def resort_names() -> list[str]:
    return list(RESORTS)


def canonical(value: str | None, *, kind: str) -> str | None:
    """A free-text country or resort name (e.g. from OpenAI) → the canonical name, or the text as given."""
    if not value:
        return None
    text = normalize(value)
    place = lookup(text) or (fuzzy(text) if " " not in text else None)
    if place is not None and place.kind == kind:
        return place.name
    return value.strip()[:100] or None
