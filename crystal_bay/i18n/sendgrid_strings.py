"""Strings of the SendGrid integration card: connection test results (ru, en)."""

RU: dict[str, str] = {
    "conn.sendgrid_ok": "Подключено: ключ может отправлять письма от {sender}.",
    "conn.sendgrid_ok_no_from": "Подключено: ключ может отправлять письма. Укажите адрес отправителя.",
    "conn.sendgrid_inbound_only": "Секрет входящей почты задан — SendGrid может присылать письма. Ключа API нет, "
                                  "отправка писем не настроена.",
    "conn.sendgrid_no_mail_send": "Ключ принят, но не может отправлять письма: дайте ему право Mail Send "
                                  "(SendGrid → Settings → API Keys).",
    "conn.sendgrid_key_refused": "SendGrid не принял ключ API: он неверный, отозван или удалён.",
    "conn.sendgrid_forbidden": "SendGrid отказал в доступе: у ключа нет нужного права или аккаунт заблокирован.",
    "conn.sendgrid_bad_answer": "Ответ {url} не похож на SendGrid: проверьте адрес API.",
}

EN: dict[str, str] = {
    "conn.sendgrid_ok": "Connected: the key may send mail from {sender}.",
    "conn.sendgrid_ok_no_from": "Connected: the key may send mail. Set the from address.",
    "conn.sendgrid_inbound_only": "The inbound secret is set: SendGrid can post inbound mail. No API key, so sending "
                                  "is not set up.",
    "conn.sendgrid_no_mail_send": "The key is accepted but may not send mail: give it the Mail Send permission "
                                  "(SendGrid → Settings → API Keys).",
    "conn.sendgrid_key_refused": "SendGrid refused the API key: it is wrong, revoked or deleted.",
    "conn.sendgrid_forbidden": "SendGrid denied access: the key lacks a permission or the account is blocked.",
    "conn.sendgrid_bad_answer": "The answer from {url} does not look like SendGrid: check the API base URL.",
}
