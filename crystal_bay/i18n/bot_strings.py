"""Dashboard strings for the Telegram bot: the Bot preview page, the reply box in the lead workspace, and the
Telegram card's connection test results (conn.<code>)."""

RU = {
    "nav.bot_preview": "Бот (демо)",
    "preview.title": "Предпросмотр бота",
    "preview.text": ("Так клиент видит Telegram-бота агентства. Это настоящий бот, но без Telegram: сообщения идут "
                     "через встроенную песочницу, туры — из демо-каталога. Заявки, которые вы здесь оставите, "
                     "появятся на доске."),
    "preview.demo_only": ("Предпросмотр работает только в демо-режиме. С настоящим токеном напишите боту в Telegram."),
    "preview.empty": "Нажмите /start или напишите, куда хотите поехать.",
    "preview.placeholder": "Сообщение боту, например: Вьетнам в марте на 10 ночей вдвоём",
    "preview.send": "Отправить",
    "preview.typing": "Бот печатает…",
    "preview.refresh": "Обновить",
    "preview.lead": "Заявка",
    "reply.title": "Ответ клиенту в Telegram",
    "reply.placeholder": "Сообщение клиенту — уйдёт в его чат с ботом",
    "reply.send": "Отправить в Telegram",
    "reply.sent": "Сообщение поставлено в очередь на отправку",
    "reply.paused": ("Бот на паузе: клиент попросил менеджера. Бот молчит, пока вы не вернёте диалог или клиент сам "
                     "не вернётся к боту (/cancel или «Вернуться к боту»)."),
    "reply.hand_back": "Вернуть диалог боту",
    "reply.handed_back": "Диалог возвращён боту",
    "error.no_telegram_chat": "Клиент не писал боту в Telegram — ответить туда нельзя.",
    "error.telegram_blocked": "Клиент заблокировал бота в Telegram.",
    "error.invalid_message": "Сообщение: от 1 до 4096 символов.",
    "conn.telegram_ok": "Подключено к {username}; режим: {mode}; вебхук: {webhook}; ожидают обработки: {pending}.",
    "conn.telegram_hook_error": "Бот {username} доступен, но Telegram сообщает об ошибке вебхука: {error}.",
    "conn.telegram_token_refused": "Telegram не принял токен: проверьте его в @BotFather.",
    "conn.telegram_failed": "Не удалось обратиться к Bot API: {error}",
}

EN = {
    "nav.bot_preview": "Bot (demo)",
    "preview.title": "Bot preview",
    "preview.text": ("This is how a customer sees the agency's Telegram bot. It is the real bot without Telegram: "
                     "messages go through the built-in sandbox, tours come from the demo catalog. Requests you leave "
                     "here appear on the board."),
    "preview.demo_only": "The preview works in demo mode only. With a real token, write to the bot in Telegram.",
    "preview.empty": "Press /start or write where you want to go.",
    "preview.placeholder": "A message to the bot, e.g.: Vietnam in March for 10 nights, two adults",
    "preview.send": "Send",
    "preview.typing": "The bot is typing…",
    "preview.refresh": "Refresh",
    "preview.lead": "Lead",
    "reply.title": "Reply to the customer in Telegram",
    "reply.placeholder": "A message to the customer — goes to their chat with the bot",
    "reply.send": "Send to Telegram",
    "reply.sent": "The message is queued for sending",
    "reply.paused": ("The bot is paused: the customer asked for a manager. It stays silent until you hand it back or "
                     "the customer goes back to the bot (/cancel or “Back to the bot”)."),
    "reply.hand_back": "Hand the chat back to the bot",
    "reply.handed_back": "The chat is back with the bot",
    "error.no_telegram_chat": "The customer has not written to the Telegram bot — there is no chat to reply to.",
    "error.telegram_blocked": "The customer blocked the bot in Telegram.",
    "error.invalid_message": "Message: 1 to 4096 characters.",
    "conn.telegram_ok": "Connected to {username}; mode: {mode}; webhook: {webhook}; pending updates: {pending}.",
    "conn.telegram_hook_error": "{username} is reachable, but Telegram reports a webhook error: {error}.",
    "conn.telegram_token_refused": "Telegram refused the token: check it with @BotFather.",
    "conn.telegram_failed": "Could not reach the Bot API: {error}",
}
