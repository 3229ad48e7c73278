"""Strings for refusals from the board and lead services (error.<code>)."""

RU = {
    "error.invalid_phone": "Неверный номер телефона. Пример: +7 701 123 45 67.",
    "error.name_required": "Укажите имя.",
    "error.invalid_telegram": "Имя пользователя Telegram: 5–32 латинские буквы, цифры или _.",
    "error.contact_required": "Нужен телефон или эл. почта.",
    "error.invalid_tag": "Тег: от 1 до 50 символов.",
    "error.invalid_note": "Заметка: от 1 до 5000 символов.",
    "error.invalid_reminder": "Напоминание: укажите текст (до 500 символов) и срок.",
    "error.naive_datetime": "Укажите время с часовым поясом.",
    "error.user_inactive": "Этот менеджер отключён.",
    "error.invalid": "Проверьте введённые данные.",
    "error.duplicate": "Такая запись уже есть.",
}

EN = {
    "error.invalid_phone": "Invalid phone number. Example: +7 701 123 45 67.",
    "error.name_required": "Please give a name.",
    "error.invalid_telegram": "Telegram username: 5–32 Latin letters, digits or _.",
    "error.contact_required": "A phone or an e-mail is needed.",
    "error.invalid_tag": "Tag: 1 to 50 characters.",
    "error.invalid_note": "Note: 1 to 5000 characters.",
    "error.invalid_reminder": "Reminder: give a text (up to 500 characters) and a due time.",
    "error.naive_datetime": "Give the time with a time zone.",
    "error.user_inactive": "This manager is deactivated.",
    "error.invalid": "Please check what you entered.",
    "error.duplicate": "This already exists.",
}
