"""What the bot says, in Russian (the default) and English. Both tables have the same keys (tested)."""

from __future__ import annotations

import datetime as dt

LANGUAGES = ("ru", "en")

RU: dict[str, str] = {
    # menu
    "btn.search": "Подобрать тур",
    "btn.requests": "Мои заявки",
    "btn.manager": "Связаться с менеджером",
    "btn.about": "О нас",
    "greeting": ("Здравствуйте, {name}! 👋\n"
                 "Я бот турагентства Crystal Bay Travel: подберу тур у туроператора, приму заявку и передам её "
                 "менеджеру.\n\n"
                 "Выберите, что нужно, или просто напишите, куда и когда хотите поехать — например: "
                 "«Вьетнам в марте на 10 ночей вдвоём, до 3000$»."),
    "menu": "Чем могу помочь?",
    "help": ("Я умею:\n"
             "• подобрать тур — кнопка «Подобрать тур» или просто напишите запрос своими словами;\n"
             "• принять заявку на понравившийся тур;\n"
             "• показать ваши заявки и их статус — «Мои заявки»;\n"
             "• позвать менеджера — «Связаться с менеджером».\n\n"
             "Команды: /start — начало, /cancel — отменить текущий шаг, /language — язык, /help — эта справка.\n\n"
             "Когда вы позвали менеджера, бот молчит, пока менеджер ведёт диалог: пишите здесь, менеджер всё увидит. "
             "/help и /language работают и в это время; /start покажет кнопку «Вернуться к боту», а /cancel сразу "
             "вернёт вас к боту (подбор туров, заявки)."),
    "about": ("Crystal Bay Travel — турагентство в Казахстане. Вылеты из Алматы, Астаны и Шымкента: Вьетнам, "
              "Таиланд, Турция, ОАЭ, Египет и другие направления.\n"
              "Подбираем туры у туроператора, бронируем и сопровождаем до возвращения домой.\n"
              "Менеджеры отвечают здесь, в чате, в рабочее время (пн–сб, 9:00–19:00)."),
    "cancelled": "Хорошо, отменил. Чем ещё помочь?",
    "ok": "Хорошо.",
    "language.ask": "Выберите язык / Choose a language:",
    "language.set": "Готово, говорим по-русски.",
    "error": "Извините, что-то пошло не так. Попробуйте ещё раз или нажмите «Связаться с менеджером».",
    "not_understood": ("Не совсем понял 🙂 Напишите, куда и когда хотите поехать (например, «Турция в июне на "
                       "7 ночей, двое взрослых»), или выберите в меню."),
    # buttons
    "btn.back": "« Назад",
    "btn.cancel": "Отмена",
    "btn.menu": "В меню",
    "btn.skip": "Пропустить",
    "btn.go": "🔎 Искать туры",
    "btn.edit": "✏️ Изменить",
    "btn.more": "Ещё варианты",
    "btn.want": "Хочу этот тур",
    "btn.new_search": "Новый поиск",
    "btn.change_dates": "Изменить даты",
    "btn.change_nights": "Изменить ночи",
    "btn.share_phone": "📱 Поделиться номером",
    "btn.send": "✅ Отправить заявку",
    "btn.no_budget": "Без ограничений",
    "btn.use_name": "Да, {name}",
    "btn.nights_exact": "{n} ночей",
    "btn.page_more": "Ещё ({n}) ›",
    "btn.page_back": "‹ Предыдущие",
    "btn.resume": "Вернуться к боту",
    # Telegram's command menu
    "command.start": "Начало: меню бота",
    "command.help": "Что умеет бот",
    "command.cancel": "Отменить текущий шаг",
    "command.language": "Язык / Language",
    # the guided search
    "ask.departure": "Откуда летим? Выберите город вылета.",
    "ask.country": "Куда хотите поехать?",
    "ask.dates": "Когда? Выберите месяц или напишите даты, например «с 10 по 20 марта».",
    "ask.nights": "Сколько ночей? Выберите или напишите число.",
    "ask.adults": "Сколько взрослых едет?",
    "ask.children": "Сколько детей (до 18 лет)?",
    "ask.child_age": "Сколько лет {n}-му ребёнку?",
    "ask.budget": "Бюджет на всех? Можно пропустить. Напишите сумму, например «2500$» или «1,2 млн тенге».",
    "ask.edit": "Что изменить?",
    "chosen": "✓ {label}: {value}",
    "understood": "Понял так:\n{summary}",
    "summary": "Проверьте запрос:\n{summary}\n\nИщем?",
    "ask.go": "Ищем туры?",
    "bad.number": "Напишите число от {low} до {high}.",
    "bad.dates_past": "Эти даты уже прошли — выберите другие.",
    "bad.dates": "Не понял даты. Выберите месяц или напишите, например, «с 10 по 20 марта».",
    "bad.place": "«{name}» нет среди направлений туроператора — выберите из списка.",
    "samo_down.dictionaries": ("Не получается связаться с туроператором, чтобы показать направления. Напишите "
                               "запрос своими словами — менеджер подберёт варианты, — или попробуйте позже."),
    "field.departure": "Вылет",
    "field.country": "Страна",
    "field.resort": "Курорт",
    "field.dates": "Даты",
    "field.nights": "Ночей",
    "field.adults": "Взрослых",
    "field.children": "Детей",
    "field.ages": "Возраст детей",
    "field.name": "Имя",
    "field.phone": "Телефон",
    "field.comment": "Комментарий",
    "field.budget": "Бюджет",
    "field.travellers": "Туристы",
    "value.any": "не важно",
    "value.no_children": "без детей",
    "value.adults": "{n} взр.",
    "value.children": "{n} реб. ({ages})",
    "value.age": "{n} лет",
    "value.budget": "до {amount} {currency}",
    "value.trip": "{start} — {end}",
    "value.window": "заезд {start} — {end}",
    "value.month": "{month}",
    # results
    "searching": "🔎 Ищу туры у туроператора…",
    "found": "Нашёл вариантов: {total}. Самые выгодные:",
    "found.demo": "⚠️ Демо-режим: туры и цены из песочницы, не настоящие.",
    "offer": ("🏨 {hotel}{stars}\n📍 {resort}, {country}\n📅 {start} — {end}, {nights} ноч.\n🍽 {meal} · {room}\n"
              "💰 {price} {currency} за всех ({per_person} {currency} на человека)"),
    "offer.few": "⚠️ Мест мало",
    "offer.request": "⚠️ Места под запрос",
    "more": "Показано {shown} из {total}.",
    "no_more": "Это все варианты, что нашлись.",
    "no_offers": ("По этим параметрам туров не нашлось 😔\n"
                  "Попробуйте расширить даты или изменить число ночей — или позовите менеджера."),
    "search_failed": ("Не получилось получить цены у туроператора: сервис сейчас не отвечает.\n"
                      "Ваш запрос сохранён (заявка №{number}) — менеджер подберёт варианты и напишет вам здесь."),
    "search_invalid": "Туроператор не принял запрос: {reason}. Давайте поправим.",
    # booking
    "book.ask_name": "Оформим заявку на этот тур:\n{offer}\n\nКак к вам обращаться?",
    "book.ask_phone": "Ваш номер телефона? Нажмите «Поделиться номером» или напишите его, например +7 701 123 45 67.",
    "book.bad_phone": "Не похоже на номер телефона. Напишите, пожалуйста, так: +7 701 123 45 67.",
    "book.bad_name": "Напишите, пожалуйста, имя (до 200 символов).",
    "book.ask_comment": "Есть пожелания (номер, трансфер, что-то ещё)? Напишите или нажмите «Пропустить».",
    "book.confirm": "Проверьте заявку:\n{offer}\n\n👤 {name}\n📞 {phone}\n💬 {comment}\n\nОтправляю менеджеру?",
    "book.no_comment": "без комментария",
    "book.done": ("✅ Заявка №{number} принята!\n"
                  "Менеджер проверит наличие мест и свяжется с вами в ближайшее время. Статус — в разделе «Мои заявки»."),
    "book.gone": "Этот вариант уже недоступен в списке — выполните поиск заново.",
    # my requests
    "requests.none": "У вас пока нет заявок. Нажмите «Подобрать тур» или напишите, куда хотите поехать.",
    "requests.title": "Ваши заявки:",
    "requests.item": "№{number} · {what}\nСтатус: {status}",
    "requests.booking": "Бронирование: {status}",
    "requests.no_destination": "направление уточняется",
    "status.new": "получена, менеджер скоро свяжется с вами",
    "status.in_progress": "в работе у менеджера",
    "status.pending": "ждём вашего решения или оплаты",
    "status.confirmed": "подтверждена",
    "status.won": "завершена — хорошего отдыха!",
    "status.lost": "закрыта",
    "booking.requested": "запрошено у туроператора",
    "booking.confirmed": "подтверждено туроператором",
    "booking.paid": "оплачено",
    "booking.documents_issued": "документы готовы",
    "booking.travelled": "поездка состоялась",
    "booking.cancelled": "отменено",
    # handoff
    "handoff": ("Передал ваш вопрос менеджеру 👩‍💼 Он ответит здесь, в этом чате, в рабочее время "
                "(пн–сб, 9:00–19:00). Пока менеджер ведёт диалог, бот не отвечает автоматически."),
    "handoff.waiting": "Менеджер уже получил ваше сообщение и ответит здесь.",
    "handoff.paused": ("Вашим вопросом занимается менеджер 👩‍💼 — он ответит здесь, в этом чате. Пока бот молчит. "
                       "Хотите снова к боту (подбор туров, заявки)? Нажмите «Вернуться к боту»."),
    "handoff.resumed": "Хорошо, вы снова с ботом. Менеджер видит вашу переписку и при необходимости напишет здесь.",
}

EN: dict[str, str] = {
    "btn.search": "Find a tour",
    "btn.requests": "My requests",
    "btn.manager": "Contact a manager",
    "btn.about": "About us",
    "greeting": ("Hello, {name}! 👋\n"
                 "I am the Crystal Bay Travel agency's bot: I find tours at the tour operator, take your request and "
                 "pass it to a manager.\n\n"
                 "Choose below, or just write where and when you want to go — for example: "
                 "“Vietnam in March for 10 nights, two adults, up to $3000”."),
    "menu": "How can I help?",
    "help": ("I can:\n"
             "• find a tour — the “Find a tour” button, or just describe your trip in your own words;\n"
             "• take a booking request for a tour you like;\n"
             "• show your requests and their status — “My requests”;\n"
             "• call a manager — “Contact a manager”.\n\n"
             "Commands: /start — start over, /cancel — cancel the current step, /language — language, "
             "/help — this help.\n\n"
             "When you have called a manager, the bot stays quiet while the manager has the conversation: write here, "
             "the manager sees everything. /help and /language still work; /start shows a “Back to the bot” button, "
             "and /cancel takes you straight back to the bot (tour search, requests)."),
    "about": ("Crystal Bay Travel is a travel agency in Kazakhstan. Flights from Almaty, Astana and Shymkent to "
              "Vietnam, Thailand, Turkey, the UAE, Egypt and more.\n"
              "We find tours at the operator, book them and look after you until you are back home.\n"
              "Managers answer here, in this chat, during working hours (Mon–Sat, 9:00–19:00)."),
    "cancelled": "OK, cancelled. What else can I do for you?",
    "ok": "OK.",
    "language.ask": "Выберите язык / Choose a language:",
    "language.set": "Done, we speak English now.",
    "error": "Sorry, something went wrong. Please try again or press “Contact a manager”.",
    "not_understood": ("I did not quite get that 🙂 Write where and when you want to go (e.g. “Turkey in June "
                       "for 7 nights, two adults”), or choose from the menu."),
    "btn.back": "« Back",
    "btn.cancel": "Cancel",
    "btn.menu": "Menu",
    "btn.skip": "Skip",
    "btn.go": "🔎 Search tours",
    "btn.edit": "✏️ Change",
    "btn.more": "More options",
    "btn.want": "I want this tour",
    "btn.new_search": "New search",
    "btn.change_dates": "Change dates",
    "btn.change_nights": "Change nights",
    "btn.share_phone": "📱 Share my number",
    "btn.send": "✅ Send the request",
    "btn.no_budget": "No limit",
    "btn.use_name": "Yes, {name}",
    "btn.nights_exact": "{n} nights",
    "btn.page_more": "More ({n}) ›",
    "btn.page_back": "‹ Previous",
    "btn.resume": "Back to the bot",
    "command.start": "Start: the bot's menu",
    "command.help": "What the bot can do",
    "command.cancel": "Cancel the current step",
    "command.language": "Язык / Language",
    "ask.departure": "Where do you fly from? Choose a departure city.",
    "ask.country": "Where would you like to go?",
    "ask.dates": "When? Choose a month or write the dates, e.g. “from 10 to 20 March”.",
    "ask.nights": "How many nights? Choose or write a number.",
    "ask.adults": "How many adults are travelling?",
    "ask.children": "How many children (under 18)?",
    "ask.child_age": "How old is child number {n}?",
    "ask.budget": "Your budget for everyone? You can skip it. Write an amount, e.g. “$2500” or “1.2 million tenge”.",
    "ask.edit": "What would you like to change?",
    "chosen": "✓ {label}: {value}",
    "understood": "Here is what I understood:\n{summary}",
    "summary": "Please check your request:\n{summary}\n\nShall I search?",
    "ask.go": "Shall I search for tours?",
    "bad.number": "Please write a number from {low} to {high}.",
    "bad.dates_past": "Those dates have passed — please choose others.",
    "bad.dates": "I did not get the dates. Choose a month or write, e.g., “from 10 to 20 March”.",
    "bad.place": "“{name}” is not among the operator's destinations — please choose from the list.",
    "samo_down.dictionaries": ("I cannot reach the tour operator to show the destinations right now. Describe your "
                               "trip in your own words — a manager will find options — or try again later."),
    "field.departure": "From",
    "field.country": "Country",
    "field.resort": "Resort",
    "field.dates": "Dates",
    "field.nights": "Nights",
    "field.adults": "Adults",
    "field.children": "Children",
    "field.ages": "Children's ages",
    "field.name": "Name",
    "field.phone": "Phone",
    "field.comment": "Comment",
    "field.budget": "Budget",
    "field.travellers": "Travellers",
    "value.any": "any",
    "value.no_children": "no children",
    "value.adults": "{n} adults",
    "value.children": "{n} children ({ages})",
    "value.age": "{n} y.o.",
    "value.budget": "up to {amount} {currency}",
    "value.trip": "{start} — {end}",
    "value.window": "check-in {start} — {end}",
    "value.month": "{month}",
    "searching": "🔎 Searching tours at the operator…",
    "found": "Found {total} options. The best value:",
    "found.demo": "⚠️ Demo mode: tours and prices come from the sandbox, they are not real.",
    "offer": ("🏨 {hotel}{stars}\n📍 {resort}, {country}\n📅 {start} — {end}, {nights} nights\n🍽 {meal} · {room}\n"
              "💰 {price} {currency} for everyone ({per_person} {currency} per person)"),
    "offer.few": "⚠️ Few places left",
    "offer.request": "⚠️ Places on request",
    "more": "Shown {shown} of {total}.",
    "no_more": "Those are all the options found.",
    "no_offers": ("No tours match these details 😔\n"
                  "Try wider dates or a different number of nights — or call a manager."),
    "search_failed": ("I could not get prices from the tour operator: the service is not answering right now.\n"
                      "Your request is saved (request #{number}) — a manager will find options and write to you here."),
    "search_invalid": "The operator did not accept the request: {reason}. Let's fix it.",
    "book.ask_name": "Let's make a request for this tour:\n{offer}\n\nWhat is your name?",
    "book.ask_phone": "Your phone number? Press “Share my number” or type it, e.g. +7 701 123 45 67.",
    "book.bad_phone": "That does not look like a phone number. Please write it like +7 701 123 45 67.",
    "book.bad_name": "Please write your name (up to 200 characters).",
    "book.ask_comment": "Any wishes (room, transfer, anything else)? Write them or press “Skip”.",
    "book.confirm": "Please check your request:\n{offer}\n\n👤 {name}\n📞 {phone}\n💬 {comment}\n\nSend it to a manager?",
    "book.no_comment": "no comment",
    "book.done": ("✅ Request #{number} received!\n"
                  "A manager will check availability and contact you shortly. Its status is under “My requests”."),
    "book.gone": "This option is no longer in the list — please search again.",
    "requests.none": "You have no requests yet. Press “Find a tour” or write where you want to go.",
    "requests.title": "Your requests:",
    "requests.item": "#{number} · {what}\nStatus: {status}",
    "requests.booking": "Booking: {status}",
    "requests.no_destination": "destination to be defined",
    "status.new": "received, a manager will contact you soon",
    "status.in_progress": "a manager is working on it",
    "status.pending": "waiting for your decision or payment",
    "status.confirmed": "confirmed",
    "status.won": "completed — have a great trip!",
    "status.lost": "closed",
    "booking.requested": "requested from the operator",
    "booking.confirmed": "confirmed by the operator",
    "booking.paid": "paid",
    "booking.documents_issued": "documents ready",
    "booking.travelled": "trip completed",
    "booking.cancelled": "cancelled",
    "handoff": ("I have passed your question to a manager 👩‍💼 They will answer here, in this chat, during working "
                "hours (Mon–Sat, 9:00–19:00). While a manager has the conversation, the bot does not answer "
                "automatically."),
    "handoff.waiting": "A manager has your message and will answer here.",
    "handoff.paused": ("A manager is handling your question 👩‍💼 and will answer here, in this chat. Meanwhile the bot "
                       "stays quiet. Want the bot back (tour search, requests)? Press “Back to the bot”."),
    "handoff.resumed": ("OK, you are back with the bot. The manager sees your conversation and will write here if "
                        "needed."),
}

TABLES = {"ru": RU, "en": EN}

MONTHS = {
    "ru": ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь",
           "декабрь"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


def t(lang: str, key: str, **params) -> str:
    """One string in the language (Russian when unknown), placeholders filled."""
    text = TABLES.get(lang, RU).get(key) or RU[key]
    return text.format(**params) if params else text


def language_of(code: str | None) -> str:
    """The bot's language for a Telegram language_code: English for en-*, Russian otherwise."""
    return "en" if (code or "").lower().startswith("en") else "ru"


def month_name(lang: str, month: int, year: int | None = None) -> str:
    name = MONTHS.get(lang, MONTHS["ru"])[month - 1]
    name = name.capitalize()
    return f"{name} {year}" if year else name


def day(value: dt.date) -> str:
    return f"{value:%d.%m.%Y}"


def money(amount) -> str:
    """A whole amount with thin spaces between thousands: 1 250 000."""
    return f"{int(round(float(amount))):,}".replace(",", " ")
