"""SendGrid Inbound Parse as SendGrid really posts it: fields in the mail's own charset (named in `charsets`),
the raw-MIME mode, and the inbound secret read through the settings loader (environment, else the panel)."""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlmodel import select

from crystal_bay.db import session_scope
from crystal_bay.models import Customer, IntegrationSetting, Lead, Message
from crystal_bay.services import email_inbound
from crystal_bay.services import integrations as integration_settings
from tests.factories import SYSTEM
from tests.intake.support import row_counts, unique_phone

SECRET = "inbound-secret-charsets-42"
URL = "/api/webhooks/sendgrid/inbound"
BOUNDARY = "xYzZY"


@pytest.fixture()
def inbound(client, settings_env):
    settings_env(SENDGRID_INBOUND_SECRET=SECRET)
    return client


def multipart(fields: list[tuple[str, bytes]], files: list[tuple[str, bytes, str, bytes]] = ()) -> bytes:
    """A multipart/form-data body byte for byte as SendGrid sends it (boundary xYzZY, raw field bytes)."""
    out = b""
    for name, value in fields:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").encode() + value + b"\r\n"
    for name, filename, kind, content in files:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"").encode() + filename
        out += f"\"\r\nContent-Type: {kind}\r\n\r\n".encode() + content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def post(client, body: bytes, secret: str = SECRET):
    return client.post(URL, params={"secret": secret}, content=body,
                       headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


def headers_block(sender: str, message_id: str) -> bytes:
    return (f"Received: by mx0047p1mdw1.sendgrid.net\nMessage-ID: <{message_id}>\nFrom: {sender}\n"
            "MIME-Version: 1.0\n").encode()


def stored_message(response) -> tuple[Message, Customer]:
    with session_scope() as session:
        message = session.get(Message, response.json()["message_id"])
        customer = session.get(Customer, response.json()["customer_id"])
    return message, customer


def test_a_windows_1251_mail_arrives_in_readable_russian(inbound):
    address = f"aigerim{unique_phone()[-7:]}@mail.ru"
    text = "Здравствуйте! Хотим в Нячанг в марте, 2 взрослых, бюджет 3000$.\r\n\r\n-- \r\nАйгерим"
    body = multipart([
        ("headers", headers_block(address, f"cp1251.{address}")),
        ("from", f"Айгерим Сапарова <{address}>".encode()),  # SendGrid posts from/to decoded, in UTF-8
        ("to", b"leads@parse.crystalbay.kz"),
        ("subject", "Тур во Вьетнам".encode("cp1251")),
        ("text", text.encode("cp1251")),
        ("html", "<p>Здравствуйте! Хотим в Нячанг</p>".encode("cp1251")),
        ("envelope", json.dumps({"to": ["leads@parse.crystalbay.kz"], "from": address}).encode()),
        ("charsets", json.dumps({"to": "UTF-8", "html": "windows-1251", "subject": "windows-1251",
                                 "from": "UTF-8", "text": "windows-1251"}).encode()),
        ("SPF", b"pass"), ("attachments", b"0"),
    ])
    response = post(inbound, body)
    assert response.status_code == 200, response.text
    message, customer = stored_message(response)
    assert message.body == "Тур во Вьетнам\n\nЗдравствуйте! Хотим в Нячанг в марте, 2 взрослых, бюджет 3000$."
    assert customer.name == "Айгерим Сапарова" and customer.email == address


def test_a_koi8_r_mail_with_an_attachment_keeps_text_and_file_name(inbound):
    address = f"petr{unique_phone()[-7:]}@yandex.ru"
    info = json.dumps({"attachment1": {"filename": "договор.pdf", "name": "договор.pdf", "type": "application/pdf"}},
                      ensure_ascii=False)
    body = multipart([
        ("headers", headers_block(address, f"koi8.{address}")),
        ("from", f"Пётр <{address}>".encode()),
        ("to", b"leads@parse.crystalbay.kz"),
        ("subject", "Горящий тур в Турцию".encode("koi8_r")),
        ("text", "Добрый день, нужен тур на майские.\n\nПётр пишет:\n> старое письмо".encode("koi8_r")),
        ("charsets", json.dumps({"to": "UTF-8", "subject": "KOI8-R", "from": "UTF-8", "text": "KOI8-R",
                                 "filename": "UTF-8"}).encode()),
        ("attachments", b"1"), ("attachment-info", info.encode()),
    ], files=[("attachment1", "договор.pdf".encode(), "application/pdf", b"%PDF-1.4 \xd0\xcf")])
    response = post(inbound, body)
    assert response.status_code == 200, response.text
    message, customer = stored_message(response)
    assert message.body == "Горящий тур в Турцию\n\nДобрый день, нужен тур на майские."
    assert customer.name == "Пётр"
    assert message.attachments == [{"name": "договор.pdf", "type": "application/pdf"}]


def test_fields_without_a_charset_are_read_as_utf8_else_windows_1251():
    assert email_inbound.decode_text("Привет".encode()) == "Привет"
    assert email_inbound.decode_text("Привет".encode("cp1251")) == "Привет"
    assert email_inbound.decode_text("Привет".encode("cp1251"), "x-unknown-charset") == "Привет"
    assert email_inbound.decode_text("Привет".encode("cp1251"), "us-ascii") == "Привет"  # mislabelled 8-bit text
    assert email_inbound.decode_text("Привет".encode("koi8_r"), "koi8-r") == "Привет"


def raw_mime(address: str, message_id: str, *, html_only: bool = False) -> bytes:
    """A whole message as a mail client sends it: encoded-word headers, a Windows-1251 body, an attachment."""
    message = EmailMessage()
    message["From"] = f"Марат Ахметов <{address}>"
    message["To"] = "leads@parse.crystalbay.kz"
    message["Subject"] = "Семейный отдых в ОАЭ"
    message["Message-ID"] = f"<{message_id}>"
    if html_only:
        message.set_content("<html><body><p>Нас четверо, <b>двое детей</b>.</p></body></html>", subtype="html",
                            charset="koi8-r")
    else:
        message.set_content("Нас четверо, двое детей 5 и 9 лет.\n\n-- \nМарат\n+7 701 000 00 00", charset="cp1251",
                            cte="quoted-printable")
        message.add_alternative("<p>Нас четверо, двое детей 5 и 9 лет.</p>", subtype="html", charset="cp1251")
        message.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="паспорт Марата.png")
    return message.as_bytes(policy=SMTP)


def test_raw_mime_mode_is_parsed_as_the_message_itself(inbound):
    address = f"marat{unique_phone()[-7:]}@gmail.com"
    raw = raw_mime(address, f"raw.{address}")
    assert b"\xcd\xe0\xf1" in raw or b"=CD=E0=F1" in raw  # the body really is Windows-1251 on the wire
    form = [("email", raw), ("to", b"leads@parse.crystalbay.kz"), ("from", f"<{address}>".encode()),
            ("subject", b"ignored when the message has one"), ("charsets", b'{"to":"UTF-8","subject":"UTF-8"}'),
            ("envelope", json.dumps({"to": ["leads@parse.crystalbay.kz"], "from": address}).encode())]
    response = post(inbound, multipart(form))
    assert response.status_code == 200, response.text
    message, customer = stored_message(response)
    assert message.body == "Семейный отдых в ОАЭ\n\nНас четверо, двое детей 5 и 9 лет."
    assert (customer.name, customer.email) == ("Марат Ахметов", address)
    assert message.external_id == f"raw.{address}"
    assert [a["name"] for a in message.attachments] == ["паспорт Марата.png"]
    counts = row_counts()
    again = post(inbound, multipart(form))
    assert again.json()["status"] == "duplicate" and row_counts() == counts


def test_a_raw_html_only_message_uses_the_html_as_text(inbound):
    address = f"html{unique_phone()[-7:]}@mail.kz"
    response = post(inbound, multipart([("email", raw_mime(address, f"rawhtml.{address}", html_only=True))]))
    assert response.status_code == 200, response.text
    assert stored_message(response)[0].body == "Семейный отдых в ОАЭ\n\nНас четверо, двое детей."


def test_a_raw_message_without_a_sender_is_refused_and_writes_nothing(inbound):
    counts = row_counts()
    response = post(inbound, multipart([("email", b"Subject: hi\r\n\r\nno sender here\r\n")]))
    assert response.status_code == 422 and response.json()["error"]["field"] == "from"
    assert post(inbound, b"--xYzZY\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--xYzZY--\r\n").status_code == 400
    assert row_counts() == counts


def test_the_secret_saved_in_the_settings_panel_is_used_and_the_environment_wins(client, settings_env):
    settings_env(SENDGRID_INBOUND_SECRET=None)
    panel_secret, env_secret = "panel-secret-5e1d9c", "env-secret-77aa01"
    address = f"panel{unique_phone()[-7:]}@example.kz"

    def body(n: int) -> bytes:
        return multipart([("headers", headers_block(address, f"panel{n}.{address}")), ("from", address.encode()),
                          ("text", b"Hello")])

    assert post(client, body(1), secret=panel_secret).status_code == 503
    with session_scope() as session:
        integration_settings.save_settings(session=session, slug="sendgrid", values={"inbound_secret": panel_secret},
                                           actor=SYSTEM)
        stored = session.exec(select(IntegrationSetting).where(IntegrationSetting.integration == "sendgrid")).one()
        assert panel_secret not in stored.value_encrypted  # encrypted at rest
    try:
        assert post(client, body(2), secret=panel_secret).status_code == 200
        assert post(client, body(3), secret="wrong-secret-000").status_code == 401
        settings_env(SENDGRID_INBOUND_SECRET=env_secret)
        assert post(client, body(4), secret=panel_secret).status_code == 401
        assert post(client, body(5), secret=env_secret).status_code == 200
    finally:
        settings_env(SENDGRID_INBOUND_SECRET=None)
        with session_scope() as session:
            integration_settings.save_settings(session=session, slug="sendgrid", values={}, clear=["inbound_secret"],
                                               actor=SYSTEM)
    assert post(client, body(6), secret=panel_secret).status_code == 503
    with session_scope() as session:
        leads = session.exec(select(Lead).join(Customer, Customer.id == Lead.customer_id)
                             .where(Customer.email == address)).all()
    assert len(leads) == 1  # the two accepted mails went to one lead


def test_a_wrong_sending_setting_does_not_stop_inbound_mail(inbound, settings_env):
    settings_env(SENDGRID_FROM_EMAIL="not an address")  # the sending side is misconfigured
    address = f"dana{unique_phone()[-7:]}@mail.kz"
    body = multipart([
        ("headers", headers_block(address, f"wrongfrom.{address}")),
        ("from", address.encode()), ("to", b"leads@parse.crystalbay.kz"),
        ("subject", "Фукуок".encode()), ("text", "Фукуок в апреле".encode()),
        ("charsets", json.dumps({"subject": "UTF-8", "text": "UTF-8"}).encode()),
    ])
    response = post(inbound, body)
    assert response.status_code == 200, response.text
    message, _customer = stored_message(response)
    assert "Фукуок в апреле" in message.body
