"""Demo data: a realistic Russian-language agency in one call, fast enough for 100 000 leads.

Rows are generated in batches of plain dicts and bulk-inserted under explicit ids (max(id)+1 onwards),
so customers, leads and messages reference each other without a round trip per row; PostgreSQL
sequences are moved past the new ids at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
from decimal import Decimal
from itertools import accumulate

from sqlalchemy import JSON, func, insert, text
from sqlmodel import Session, select

from crystal_bay.models import (
    Customer,
    Lead,
    LeadTag,
    Message,
    Outcome,
    Reminder,
    Role,
    StatusCategory,
    Tag,
    User,
    utcnow,
)
from crystal_bay.services import audit, pipeline, users
from crystal_bay.services.audit import Actor

BATCH_LEADS = 5_000
TAG_NAMES = ("VIP", "Семья с детьми", "Горящий тур", "Повторный клиент", "Медовый месяц", "Корпоратив")
DEMO_MANAGERS = (("anna", "Анна Петренко"), ("dmitry", "Дмитрий Ковалёв"), ("aigerim", "Айгерим Садыкова"))
DEMO_DOMAIN = "crystalbay.kz"  # as the first admin's; email_validator refuses special-use names like .local

MALE = ("Дмитрий", "Алексей", "Сергей", "Андрей", "Максим", "Иван", "Артём", "Нурлан", "Ерлан", "Бауыржан", "Асхат",
        "Данияр", "Арман", "Тимур", "Руслан", "Ержан", "Канат", "Марат", "Олжас", "Санжар", "Азамат", "Евгений",
        "Павел", "Виктор", "Ильяс", "Ринат")
FEMALE = ("Айгерим", "Анна", "Елена", "Ольга", "Наталья", "Мария", "Татьяна", "Ирина", "Динара", "Асель", "Жанна",
          "Гульнара", "Айжан", "Сауле", "Мадина", "Камила", "Алия", "Дана", "Екатерина", "Юлия", "Светлана",
          "Акмарал", "Томирис", "Аружан", "Зарина", "Лаура")
SURNAMES = ("Ковалёв", "Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Новиков", "Морозов", "Петров",
            "Волков", "Павлов", "Садыков", "Нурланов", "Ахметов", "Жумабаев", "Сериков", "Касымов", "Искаков",
            "Абенов", "Тулегенов", "Оспанов", "Байжанов", "Мухамедов", "Есенов", "Калиев", "Беляев", "Григорьев",
            "Ким", "Цой", "Пак")  # female forms add "а" to -ов/-ев/-ин
_TR = {**dict.fromkeys("ъь", ""), "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
       "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
       "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ы": "y", "э": "e",
       "ю": "yu", "я": "ya"}
KZ_PREFIXES = ("700", "701", "702", "705", "707", "708", "771", "775", "776", "777", "778")
RU_PREFIXES = ("903", "905", "909", "915", "916", "925", "926", "951", "952", "977", "985", "999")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")  # reserved: never a real inbox

# country, weight, "to the country", English name, resorts as (name, "to the resort")
COUNTRIES = (
    ("Вьетнам", 45, "во Вьетнам", "Vietnam", (("Нячанг", "в Нячанг"), ("Фукуок", "на Фукуок"),
     ("Дананг", "в Дананг"), ("Фантьет", "в Фантьет"), ("Хойан", "в Хойан"), ("Далат", "в Далат"))),
    ("Турция", 15, "в Турцию", "Turkey", (("Анталья", "в Анталью"), ("Кемер", "в Кемер"), ("Аланья", "в Аланью"))),
    ("ОАЭ", 10, "в ОАЭ", "the UAE", (("Дубай", "в Дубай"),)),
    ("Таиланд", 10, "в Таиланд", "Thailand", (("Пхукет", "на Пхукет"), ("Паттайя", "в Паттайю"))),
    ("Египет", 8, "в Египет", "Egypt", (("Шарм-эль-Шейх", "в Шарм-эль-Шейх"), ("Хургада", "в Хургаду"))),
    ("Китай", 5, "в Китай", "China", (("Хайнань", "на Хайнань"),)),
    ("Шри-Ланка", 4, "на Шри-Ланку", "Sri Lanka", ()),
    ("Мальдивы", 3, "на Мальдивы", "the Maldives", ()),
)
CITIES = (("Алматы", "Алматы", 75), ("Астана", "Астаны", 18), ("Шымкент", "Шымкента", 7))
CITY_GEN = {c[0]: c[1] for c in CITIES}
DELIVERY = ("sent", "delivered", "read", "read")
MEALS = {"RO": "без питания", "BB": "завтраки", "HB": "полупансион", "FB": "полный пансион",
         "AI": "всё включено", "UAI": "ультра всё включено"}
MEAL_WEIGHTS = (("RO", 4), ("BB", 22), ("HB", 14), ("FB", 5), ("AI", 40), ("UAI", 15))
CHANNEL_WEIGHTS = (("telegram", 30), ("whatsapp", 28), ("website", 14), ("phone", 10), ("email", 7),
                   ("walk_in", 6), ("api", 5))
STAGE_WEIGHTS = {"new_request": 20, "consultation": 17, "tour_selection": 15, "quote": 12, "add_ons": 6,
                 "paid": 6, "accepted": 5, "confirmed": 7, "completed": 12}
MONTHS_PREP = ("январе", "феврале", "марте", "апреле", "мае", "июне",
               "июле", "августе", "сентябре", "октябре", "ноябре", "декабре")
MONTHS_GEN = ("января", "февраля", "марта", "апреля", "мая", "июня",
              "июля", "августа", "сентября", "октября", "ноября", "декабря")
MONTHS_EN = ("January", "February", "March", "April", "May", "June",
             "July", "August", "September", "October", "November", "December")
ADULTS_RU = {1: "один взрослый", 2: "двое взрослых", 3: "трое взрослых", 4: "четверо взрослых"}
LOST_REASONS = ("Дорого", "Выбрали другое агентство", "Передумали ехать", "Не устроили даты вылета",
                "Нет мест в выбранном отеле", "Не выходит на связь", "Перенесли поездку на следующий год")
GOOD_REASONS = ("Указан бюджет", "Известны даты поездки", "Быстро отвечает на сообщения",
                "Готовы бронировать в ближайшие дни", "Высокий бюджет", "Конкретное направление и отель")
WEAK_REASONS = ("Даты не определены", "Бюджет ниже рынка", "Сравнивает с другими агентствами",
                "Долго не отвечает")
CUSTOMER_NOTES = ("Предпочитает связь в WhatsApp", "Просит не звонить до 10:00", "Летали с нами в Турцию",
                  "У ребёнка аллергия на орехи", "Нужен трансфер из аэропорта", "Важен первый пляжный отель")
REMINDER_TEXTS = ("Перезвонить клиенту по подборке", "Отправить коммерческое предложение",
                  "Уточнить даты и состав туристов", "Напомнить о доплате", "Проверить визовые требования",
                  "Отправить документы на поездку")

INQUIRIES = (
    "Здравствуйте! Хотим {dest} в {month} на {nights} ночей, {pax}, бюджет до {budget}",
    "Добрый день! Интересует тур {dest}, вылет из {city}, даты с {d1} по {d2}, {pax}. Бюджет {budget}. "
    "Отель {stars}*, {meal}.",
    "Привет! Сколько будет стоить тур {dest} на {nights} ночей в {month}? Нас {pax}, питание: {meal}.",
    "Здравствуйте, подберите, пожалуйста, тур {dest} {stars}*, {meal}, {pax}, {nights} ночей. "
    "Вылет из {city}, бюджет около {budget}.",
)
FORM = ("{form}. Направление: {where}. Даты: {d1} – {d2}. Ночей: {nights}. Туристы: {pax}. "
        "Бюджет: {budget}. Питание: {meal}.")
NOTE = {"phone": "Звонок клиента: хотят {dest} в {month}, {pax}, бюджет {budget}. Просит прислать варианты.",
        "walk_in": "Клиент приходил в офис: {dest} в {month}, {nights} ночей, {pax}, бюджет {budget}."}
MANAGER_REPLIES = (
    "Добрый день, {name}! Меня зовут {me}, я ваш менеджер. Подберу варианты ({where}) и пришлю сегодня.",
    "{name}, здравствуйте! Отправляю подборку из 5 отелей {stars}* ({meal}), посмотрите, пожалуйста.",
    "Есть отличный вариант: {where}, {stars}*, {meal}, {nights} ночей — {price}. Бронируем?",
    "{name}, цены на ваши даты быстро растут, рекомендую зафиксировать тур предоплатой 30%.",
)
FOLLOW_UPS = ("Спасибо! А есть варианты ближе к пляжу?", "Подскажите, нужна ли виза?",
              "Хорошо, давайте бронировать. Куда отправить паспорта?", "Дороговато, можно подешевле?",
              "А трансфер из аэропорта входит в стоимость?", "Можно вылет на пару дней позже?")
BOT_REPLIES = ("Спасибо за заявку! Менеджер свяжется с вами в течение 15 минут.",
               "Здравствуйте! Я бот Crystal Bay Travel. Уточните, пожалуйста: сколько ночей и сколько туристов?")
EN = {"inquiry": "Hello! We are looking for a trip to {country} in {month} for {nights} nights, {adults} adults, "
                 "budget up to {budget_en}.",
      "manager": "Hello {name}! I am preparing hotel options for you and will send them today.",
      "bot": "Thank you for your request! A manager will contact you shortly.",
      "follow": "Thanks! Do we need a visa?"}


def _weighted(pairs):
    values, weights = zip(*pairs, strict=True)
    return list(values), list(accumulate(weights))


def _years(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "год"
    return "года" if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else "лет"


def _translit(s: str) -> str:
    return "".join(_TR.get(c, c) for c in s.lower())


def _money(amount: int, currency: str) -> str:
    return f"{amount}$" if currency == "USD" else f"{amount:,} тенге".replace(",", " ")


class _Seeder:
    """Builds one batch of rows at a time; ids are assigned here, ahead of the insert."""

    def __init__(self, rng: random.Random, now: dt.datetime, stages, managers: dict[int, str], tag_ids,
                 next_ids: tuple[int, int, int]):
        self.rng, self.now, self.today, self.tag_ids = rng, now, now.date(), tag_ids
        self.managers, self.manager_names = sorted(managers), managers
        self.stage_pick = _weighted((s, STAGE_WEIGHTS.get(s.slug, max(3, 20 - 2 * i)))
                                    for i, s in enumerate(stages))
        self.stage_frac = {s.id: i / max(1, len(stages) - 1) for i, s in enumerate(stages)}
        self.channel_pick, self.meal_pick = _weighted(CHANNEL_WEIGHTS), _weighted(MEAL_WEIGHTS)
        self.country_pick = _weighted((c, c[1]) for c in COUNTRIES)
        self.city_pick = _weighted((c, c[2]) for c in CITIES)
        self.next_customer, self.next_lead, self.next_message = next_ids
        self.reset()

    def reset(self) -> None:
        self.customers, self.leads, self.messages, self.lead_tags, self.reminders = [], [], [], [], []

    def _choice(self, pick):
        return self.rng.choices(pick[0], cum_weights=pick[1])[0]

    def _phone(self, cid: int) -> str:
        # (cid * A + B) mod 10^7 is a bijection, so phones never repeat across customers.
        prefix = self.rng.choice(KZ_PREFIXES if self.rng.random() < 0.88 else RU_PREFIXES)
        return f"+7{prefix}{(cid * 7_654_321 + 3_141_593) % 10_000_000:07d}"

    def add_customer(self, n_leads: int) -> None:
        rng, cid = self.rng, self.next_customer
        self.next_customer += 1
        female = rng.random() < 0.55
        first, last = rng.choice(FEMALE if female else MALE), rng.choice(SURNAMES)
        if female and last[-2:] in ("ов", "ев", "ёв", "ин"):
            last += "а"
        channel = self._choice(self.channel_pick)
        phone = None if channel == "telegram" and rng.random() < 0.2 else self._phone(cid)
        wants_email = {"email": 1.0, "website": 0.6, "api": 0.6, "walk_in": 0.3}.get(channel, 0.12)
        has_tg = channel == "telegram" or rng.random() < 0.1
        cust = {"id": cid, "name": f"{first} {last}", "phone": phone, "phones": [phone] if phone else [],
                "email": (f"{_translit(first)}.{_translit(last)}{cid % 1000}@{rng.choice(EMAIL_DOMAINS)}"
                          if rng.random() < wants_email else None),
                "telegram_id": str(5_000_000_000 + cid * 7_919 % 1_000_000_000) if has_tg else None,
                "telegram_username": (f"{_translit(first)}_{_translit(last)[:3]}{cid % 97}"
                                      if has_tg and rng.random() < 0.7 else None),
                "whatsapp_id": phone[1:] if phone and (channel == "whatsapp" or rng.random() < 0.3) else None,
                "language": "en" if rng.random() < 0.05 else "ru",
                "notes": rng.choice(CUSTOMER_NOTES) if rng.random() < 0.1 else ""}
        leads = []
        for _ in range(n_leads):
            ch = channel if n_leads == 1 or rng.random() < 0.8 else rng.choice(("website", "phone", "walk_in"))
            leads.append(self._lead(cust, ch if phone or ch == "telegram" else "telegram"))
        leads.sort(key=lambda r: r["created_at"])  # a repeat customer's later leads get later ids
        for i, lead in enumerate(leads):
            lead["id"] = self.next_lead
            self.next_lead += 1
            self._tags(lead, repeat=i > 0)
            self._conversation(lead, cust, first)
            self._follow_up(lead)
        cust["created_at"] = leads[0]["created_at"] - dt.timedelta(minutes=rng.uniform(1, 30))
        cust["updated_at"] = max(r["updated_at"] for r in leads)
        self.customers.append(cust)
        self.leads.extend(leads)

    def _lead(self, cust: dict, channel: str) -> dict:
        rng, now = self.rng, self.now
        stage = self._choice(self.stage_pick)
        frac = self.stage_frac[stage.id]  # 0 for the first stage, 1 for the last: later stages are older
        closing = stage.category == StatusCategory.closed.value
        outcome = Outcome.won.value if closing else (Outcome.lost.value if rng.random() < 0.09 else None)
        created = now - dt.timedelta(days=rng.uniform(frac * 70, 25 + frac * 95) + 0.01)
        moved = rng.uniform(0.3, 0.95) if frac else rng.uniform(0, 0.2)
        updated = created + (now - created) * moved
        country = self._choice(self.country_pick)
        resort = rng.choice(country[4]) if country[4] and rng.random() < 0.85 else None
        date_from = self.today + dt.timedelta(days=rng.randint(30, 240))
        nights_min, children = rng.randint(7, 12), rng.choices((0, 1, 2), cum_weights=(60, 85, 100))[0]
        if rng.random() < 0.85:
            currency, budget = "USD", round(rng.uniform(800, 8000) / 100) * 100
        else:
            currency, budget = "KZT", round(rng.uniform(400_000, 3_500_000) / 10_000) * 10_000
        score = int(min(95, max(10, rng.gauss(28 + frac * 45 - (20 if outcome == "lost" else 0), 14))))
        good, weak = rng.sample(GOOD_REASONS, 3), rng.sample(WEAK_REASONS, 2)
        reasons = (good[:rng.randint(1, 3)] if score >= 60 else weak[:rng.randint(1, 2)] if score < 35
                   else [good[0], weak[0]])
        utm = {}
        if channel == "website":
            utm = {"utm_source": rng.choice(("instagram", "google", "facebook", "tiktok")),
                   "utm_medium": rng.choice(("cpc", "social")),
                   "utm_campaign": rng.choice(("vietnam_season", "early_booking", "hot_tours"))}
        elif channel == "api":
            utm = {"utm_source": "partner", "utm_medium": "api"}
        # whoever took a call or a visit owns the lead; new online requests mostly wait for a manager
        assigned = self.managers and (channel in NOTE or rng.random() < (0.3 if frac == 0 else 0.93))
        return {
            "id": None, "customer_id": cust["id"], "source": channel, "stage_id": stage.id,
            "status": pipeline.status_of(stage=stage, outcome=outcome), "outcome": outcome,
            "lost_reason": rng.choice(LOST_REASONS) if outcome == Outcome.lost.value else None,
            "assignee_id": rng.choice(self.managers) if assigned else None, "score": score,
            "score_reasons": reasons, "external_id": None, "utm": utm, "next_follow_up_at": None,
            "needs_human": outcome is None and frac < 0.3 and channel in ("telegram", "whatsapp")
            and rng.random() < 0.1,
            "last_customer_message_at": created, "created_at": created, "updated_at": updated,
            "closed_at": updated if outcome else None,
            "departure_city": self._choice(self.city_pick)[0], "country": country[0],
            "resort": resort[0] if resort else None, "date_from": date_from,
            "date_to": date_from + dt.timedelta(days=rng.choice((2, 3, 5, 7, 10, 14))),
            "nights_min": nights_min, "nights_max": min(14, nights_min + rng.choice((0, 2, 3, 4))),
            "adults": rng.choices((1, 2, 3, 4), cum_weights=(12, 72, 88, 100))[0], "children": children,
            "children_ages": sorted(rng.randint(1, 14) for _ in range(children)),
            "budget": Decimal(budget), "currency": currency, "hotel_stars": rng.choice((3, 4, 4, 5, 5)),
            "meal": self._choice(self.meal_pick), "_frac": frac, "_country": country, "_resort": resort,
        }

    def _follow_up(self, lead: dict) -> None:
        """Open leads often have a follow-up date, about a third of them overdue; some get a reminder."""
        rng, now = self.rng, self.now
        if lead["status"] == StatusCategory.closed.value or rng.random() > 0.55:
            return
        if rng.random() < 0.35:
            idle = (now - lead["updated_at"]).total_seconds()
            due = now - dt.timedelta(seconds=rng.uniform(0, min(864_000, idle)))
        else:
            due = now + dt.timedelta(days=rng.uniform(0.05, 14))
        lead["next_follow_up_at"] = due = due.replace(microsecond=0)
        if lead["assignee_id"] and rng.random() < 0.3:
            self.reminders.append({"lead_id": lead["id"], "user_id": lead["assignee_id"], "due_at": due,
                                   "text": rng.choice(REMINDER_TEXTS), "created_at": min(due, lead["updated_at"]),
                                   "done_at": None})

    def _tags(self, lead: dict, *, repeat: bool) -> None:
        rng, found, kids, adults = self.rng, [], lead["children"], lead["adults"]
        usd = float(lead["budget"]) / (1 if lead["currency"] == "USD" else 500)
        for name, hit in (("Повторный клиент", repeat and rng.random() < 0.8),
                          ("Семья с детьми", kids and rng.random() < 0.6),
                          ("Медовый месяц", adults == 2 and not kids and rng.random() < 0.12),
                          ("VIP", usd >= 6500 and rng.random() < 0.7),
                          ("Горящий тур", (lead["date_from"] - self.today).days <= 45 and rng.random() < 0.6),
                          ("Корпоратив", adults == 4 and not kids and rng.random() < 0.3)):
            if hit:
                found.append(name)
        for name in rng.sample(found, min(2, len(found))):
            self.lead_tags.append({"lead_id": lead["id"], "tag_id": self.tag_ids[name]})

    def _words(self, lead: dict, first: str) -> dict:
        """The values the message templates are filled with."""
        ages, (d1, d2), country, resort = lead["children_ages"], (lead["date_from"], lead["date_to"]), \
            lead["_country"], lead["_resort"]
        pax = ADULTS_RU[lead["adults"]]
        if ages:
            pax += (f" и ребёнок {ages[0]} {_years(ages[0])}" if len(ages) == 1
                    else f" и двое детей ({ages[0]} и {ages[1]} {_years(ages[1])})")
        n1, n2, budget = lead["nights_min"], lead["nights_max"], int(lead["budget"])
        return {"dest": resort[1] if resort else country[2], "where": resort[0] if resort else country[0],
                "month": MONTHS_PREP[d1.month - 1], "nights": n1 if n1 == n2 else f"{n1}–{n2}", "pax": pax,
                "budget": _money(budget, lead["currency"]), "city": CITY_GEN[lead["departure_city"]],
                "d1": f"{d1.day} {MONTHS_GEN[d1.month - 1]}", "d2": f"{d2.day} {MONTHS_GEN[d2.month - 1]}",
                "stars": lead["hotel_stars"], "meal": MEALS[lead["meal"]], "name": first,
                "price": _money(int(budget * self.rng.uniform(0.75, 1.0)) // 10 * 10, lead["currency"]),
                "country": country[3], "adults": lead["adults"], "month_en": MONTHS_EN[d1.month - 1],
                "budget_en": f"{budget:,} {lead['currency']}",
                "form": "Заявка с сайта" if lead["source"] == "website" else "Заявка от партнёра (API)"}

    def _conversation(self, lead: dict, cust: dict, first: str) -> None:
        """1-4 messages: the inquiry, then replies (bot or manager) and the customer's follow-ups."""
        rng, src, user = self.rng, lead["source"], lead["assignee_id"]
        en, w = cust["language"] == "en", self._words(lead, first)
        w["me"] = self.manager_names.get(user, "Анна")
        talk = src if src in ("telegram", "whatsapp", "email") else \
            "whatsapp" if cust["phone"] else "email" if cust["email"] else "telegram"
        if en:
            rows = [(src, "inbound", "customer", None, EN["inquiry"].format(**{**w, "month": w["month_en"]}))]
        elif src in NOTE:
            rows = [("note", "internal", "manager", user, NOTE[src].format(**w))]
        else:
            rows = [(src, "inbound", "customer", None,
                     (FORM if src in ("website", "api") else rng.choice(INQUIRIES)).format(**w))]
        for i in range(1, min(4, 1 + int(rng.random() * (1.6 + 2.5 * lead["_frac"])))):
            if i % 2 == 0:
                rows.append((talk, "inbound", "customer", None, EN["follow"] if en else rng.choice(FOLLOW_UPS)))
            elif talk == "telegram" and i == 1 and (not user or rng.random() < 0.6):
                rows.append((talk, "outbound", "bot", None, EN["bot"] if en else rng.choice(BOT_REPLIES)))
            else:
                body = EN["manager"] if en else MANAGER_REPLIES[min(3, i // 2 * 2 + rng.randint(0, 1))]
                rows.append((talk, "outbound", "manager", user, body.format(**w)))
        gaps = [rng.uniform(0.1, 1) if r[2] == "bot" else rng.uniform(5, 900) for r in rows[1:]]
        span = (lead["updated_at"] - lead["created_at"]).total_seconds() / 60
        scale = min(1.0, span / max(1.0, sum(gaps)))  # squeeze the talk into the lead's lifetime
        t = last_inbound = lead["created_at"]
        for i, (channel, direction, author, user_id, body) in enumerate(rows):
            if i:
                t += dt.timedelta(minutes=gaps[i - 1] * scale)
            if author == "customer":
                last_inbound = t
            self.messages.append({
                "id": self.next_message, "lead_id": lead["id"], "customer_id": cust["id"], "channel": channel,
                "direction": direction, "author_type": author, "author_user_id": user_id, "body": body,
                "external_id": None, "attachments": [], "created_at": t,
                "delivery_status": rng.choice(DELIVERY) if direction == "outbound" else None})
            self.next_message += 1
        lead["last_customer_message_at"] = last_inbound
        lead["updated_at"] = max(lead["updated_at"], t)
        if lead["closed_at"]:
            lead["closed_at"] = lead["updated_at"]

    def flush(self, conn) -> None:
        for table, rows in ((Customer, self.customers), (Lead, self.leads), (Message, self.messages),
                            (LeadTag, self.lead_tags), (Reminder, self.reminders)):
            if rows:
                _insert(conn, table.__table__, rows)


def _insert(conn, table, rows: list[dict]) -> None:
    """Bulk insert; keys starting with "_" are generator scratch. COPY on PostgreSQL (psycopg),
    a plain executemany with SQLAlchemy's own value converters on SQLite, Core executemany elsewhere."""
    cols = [c for c in rows[0] if c[0] != "_"]
    dialect, quote = conn.dialect, conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in cols)
    if dialect.name == "sqlite":
        procs = [(c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in cols]
        sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' * len(cols))})"
        conn.exec_driver_sql(sql, [tuple(p(r[c]) if p else r[c] for c, p in procs) for r in rows])
    elif dialect.name == "postgresql" and dialect.driver == "psycopg":
        dumps = getattr(dialect, "_json_serializer", None) or json.dumps
        json_cols = {c for c in cols if isinstance(table.c[c].type, JSON)}
        with conn.connection.dbapi_connection.cursor() as cur, \
                cur.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([dumps(r[c]) if c in json_cols else r[c] for c in cols])
    else:
        conn.execute(insert(table), [{c: r[c] for c in cols} for r in rows])


def _managers(session: Session, actor: Actor) -> dict[int, str]:
    """Active managers by id → first name; three demo managers are created when there are none."""
    stmt = select(User.id, User.name).where(User.role == Role.manager.value, User.is_active)
    found = {uid: (name.split() or ["Анна"])[0] for uid, name in session.exec(stmt)}
    if found or session.exec(select(User.id).where(User.role == Role.manager.value).limit(1)).first():
        return found
    for login, name in DEMO_MANAGERS:
        email = f"{login}.manager@{DEMO_DOMAIN}"
        if session.exec(select(User.id).where(User.email == email)).first() is None:
            user = users.create_user(session=session, email=email, name=name, role=Role.manager.value,
                                     password=secrets.token_urlsafe(12), actor=actor)
            found[user.id] = name.split()[0]
    return found


def _tag_ids(conn) -> dict[str, int]:
    existing = {name: tid for tid, name in conn.execute(select(Tag.id, Tag.name))}
    missing = [{"name": n} for n in TAG_NAMES if n not in existing]
    if missing:
        conn.execute(insert(Tag.__table__), missing)
        existing = {name: tid for tid, name in conn.execute(select(Tag.id, Tag.name))}
    return existing


def seed_demo(*, session: Session, leads: int = 300, seed: int | None = None, actor: Actor | None = None) -> dict:
    """Insert `leads` demo leads with their customers, messages, tags and reminders; returns the counts."""
    actor = actor or Actor.system("demo")
    rng = random.Random(seed)
    all_stages = pipeline.ensure_default_stages(session=session)
    stages = [s for s in all_stages if s.is_active] or all_stages
    managers = _managers(session, actor)
    session.flush()
    conn = session.connection()
    tags = _tag_ids(conn)
    next_ids = tuple(
        (conn.execute(select(func.max(t.id))).scalar() or 0) + 1 for t in (Customer, Lead, Message))
    gen = _Seeder(rng, utcnow(), stages, managers, tags, next_ids)
    counts = {"customers": 0, "leads": 0, "messages": 0, "tags": 0, "reminders": 0}
    remaining = max(0, int(leads))
    sqlite_cache = None
    if conn.dialect.name == "sqlite" and remaining > BATCH_LEADS:  # a bigger page cache keeps indexes hot
        sqlite_cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql("PRAGMA cache_size=-65536")
    while remaining:
        batch = min(BATCH_LEADS, remaining)
        while len(gen.leads) < batch:
            k = rng.choices((1, 2, 3, 4), weights=(80, 13, 5, 2))[0]
            gen.add_customer(min(k, batch - len(gen.leads)))
        gen.flush(conn)
        for key, rows in (("customers", gen.customers), ("leads", gen.leads), ("messages", gen.messages),
                          ("tags", gen.lead_tags), ("reminders", gen.reminders)):
            counts[key] += len(rows)
        remaining -= batch
        gen.reset()
    if sqlite_cache is not None:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(sqlite_cache)}")
    if conn.dialect.name == "postgresql":
        for table in ("customers", "leads", "messages"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT MAX(id) FROM {table}))"))
    audit.record(session=session, actor=actor, entity_type="system", entity_id=None, action="demo_seeded",
                 data={**counts, "seed": seed, "managers": len(managers)})
    session.flush()
    return counts


def database_is_empty(*, session: Session) -> bool:
    """True when there are no leads at all."""
    return session.exec(select(Lead.id).limit(1)).first() is None


def database_size(*, session: Session) -> int | None:
    """The database's size in bytes (SQLite file pages or pg_database_size), or None if unknown."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        return int(pages) * int(conn.exec_driver_sql("PRAGMA page_size").scalar())
    if conn.dialect.name == "postgresql":
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())
    return None
