"""SendGrid Inbound Parse: the secret, the multipart form, quoted text stripped, attachments, duplicate Message-ID."""

from __future__ import annotations

import base64
import json

import pytest

from crystal_bay.db import session_scope
from crystal_bay.models import Customer, Lead, Message
from crystal_bay.services.email_inbound import html_to_text, strip_quoted
from tests.intake.support import row_counts, unique_phone

SECRET = "inbound-secret-7f3a9"
URL = "/api/webhooks/sendgrid/inbound"


@pytest.fixture()
def inbound(client, settings_env):
    settings_env(SENDGRID_INBOUND_SECRET=SECRET)
    return client


def mail_form(sender: str, message_id: str, **extra) -> dict:
    headers = (f"Received: by mx.sendgrid.net\nMessage-ID: <{message_id}>\nFrom: {sender}\n"
               "Subject: =?UTF-8?B?0KLRg9GA?=\n")
    return {"from": sender, "to": "leads@parse.crystalbay.kz", "subject": "Тур во Вьетнам", "headers": headers,
            "envelope": json.dumps({"to": ["leads@parse.crystalbay.kz"], "from": "x@y.kz"}),
            "charsets": json.dumps({"to": "UTF-8", "subject": "UTF-8", "text": "UTF-8"}), "SPF": "pass",
            "attachments": "0", **extra}


REPLY = """Здравствуйте! Хотим во Вьетнам в марте, 2 взрослых.
Бюджет около 3000$.

--
Иван Петров
+7 701 000 00 00

25 нояб. 2026 г., в 10:00, Crystal Bay <tours@crystalbay.kz>
пишет:
> Добрый день! Чем можем помочь?
"""


def test_a_mail_becomes_a_lead_with_the_new_text_and_attachment_names(inbound):
    sender = f"ivan{unique_phone()[-7:]}@mail.ru"
    files = [("attachment1", ("паспорт.pdf", b"%PDF-1.4", "application/pdf")),
             ("attachment2", ("photo.jpg", b"\xff\xd8", "image/jpeg"))]
    info = json.dumps({"attachment1": {"filename": "паспорт.pdf", "type": "application/pdf"},
                       "attachment2": {"filename": "photo.jpg", "type": "image/jpeg"}})
    form = mail_form(f"Иван Петров <{sender.upper()}>", f"m1.{sender}", text=REPLY, **{
        "attachments": "2", "attachment-info": info})
    response = inbound.post(URL, params={"secret": SECRET}, data=form, files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "processed" and body["lead_created"] is True
    with session_scope() as session:
        customer = session.get(Customer, body["customer_id"])
        lead = session.get(Lead, body["lead_id"])
        message = session.get(Message, body["message_id"])
    assert (customer.email, customer.name, lead.source) == (sender, "Иван Петров", "email")
    assert message.body == "Тур во Вьетнам\n\nЗдравствуйте! Хотим во Вьетнам в марте, 2 взрослых.\nБюджет около 3000$."
    assert (message.channel, message.external_id) == ("email", f"m1.{sender}")
    assert [a["name"] for a in message.attachments] == ["паспорт.pdf", "photo.jpg"]


def test_a_duplicate_delivery_creates_nothing(inbound):
    sender = f"dup{unique_phone()[-7:]}@example.kz"
    form = mail_form(sender, f"dup.{sender}", text="Повторная доставка")
    first = inbound.post(URL, params={"secret": SECRET}, data=form)
    counts = row_counts()
    second = inbound.post(URL, params={"secret": SECRET}, data=form)
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert {k: v for k, v in second.json().items() if k != "status"} == {
        k: v for k, v in first.json().items() if k != "status"}
    assert row_counts() == counts


def test_a_second_mail_from_the_sender_joins_the_open_lead(inbound):
    sender = f"again{unique_phone()[-7:]}@example.kz"
    first = inbound.post(URL, params={"secret": SECRET}, data=mail_form(sender, f"a.{sender}", text="Первое"))
    second = inbound.post(URL, params={"secret": SECRET}, data=mail_form(sender, f"b.{sender}", text="Второе"))
    assert second.json()["lead_id"] == first.json()["lead_id"] and second.json()["lead_created"] is False


def test_basic_auth_works_and_wrong_secrets_are_401(inbound):
    sender = f"basic{unique_phone()[-7:]}@example.kz"
    token = base64.b64encode(f"parse:{SECRET}".encode()).decode()
    ok = inbound.post(URL, data=mail_form(sender, f"c.{sender}", text="x"), headers={"Authorization": f"Basic {token}"})
    assert ok.status_code == 200
    counts = row_counts()
    wrong = inbound.post(URL, params={"secret": "nope"}, data=mail_form(sender, f"d.{sender}", text="x"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
    assert inbound.post(URL, data=mail_form(sender, f"e.{sender}", text="x")).status_code == 401
    bad_basic = inbound.post(URL, data=mail_form(sender, f"f.{sender}", text="x"),
                             headers={"Authorization": "Basic !!!"})
    assert bad_basic.status_code == 401 and row_counts() == counts


def test_unconfigured_is_503_so_sendgrid_retries(client, settings_env):
    settings_env(SENDGRID_INBOUND_SECRET=None)
    response = client.post(URL, params={"secret": "x"}, data=mail_form("a@b.kz", "z@z", text="x"))
    assert response.status_code == 503 and response.json()["error"]["code"] == "not_configured"


def test_bad_posts_are_4xx(inbound):
    counts = row_counts()
    no_sender = inbound.post(URL, params={"secret": SECRET}, data=mail_form("", "n@n", text="x"))
    assert no_sender.status_code == 422 and no_sender.json()["error"]["field"] == "from"
    garbage = inbound.post(URL, params={"secret": SECRET}, data=mail_form("Someone <not an address>", "g@g", text="x"))
    assert garbage.status_code == 422
    as_json = inbound.post(URL, params={"secret": SECRET}, json={"from": "a@b.kz"})
    assert as_json.status_code == 415
    broken = inbound.post(URL, params={"secret": SECRET}, content=b"--xYzZY\r\nbroken",
                          headers={"Content-Type": "multipart/form-data; boundary=xYzZY"})
    assert broken.status_code in (400, 422)
    assert row_counts() == counts


def test_an_html_only_mail_uses_its_text(inbound):
    sender = f"html{unique_phone()[-7:]}@example.kz"
    form = mail_form(sender, f"h.{sender}", html="<p>Хочу <b>на море</b></p><blockquote>старое</blockquote>")
    response = inbound.post(URL, params={"secret": SECRET}, data=form)
    with session_scope() as session:
        body = session.get(Message, response.json()["message_id"]).body
    assert body == "Тур во Вьетнам\n\nХочу на море"


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello\n\nOn Mon, 1 Jan 2027 at 10:00, John <j@x.com> wrote:\n> old", "Hello"),
    ("Hello\nOn Mon, 1 Jan 2027 at 10:00, John Smith\n<j@x.com> wrote:\n> old", "Hello"),
    ("Привет\n\n-----Original Message-----\nFrom: a@b\nold", "Привет"),
    ("Привет\n\nFrom: Ivan <i@x.kz>\nSent: Monday, 1 January\nTo: tours@cb.kz\nSubject: RE\n\nold", "Привет"),
    ("Привет\nПонедельник, 25 ноября 2026, 10:00 +06:00 от Иван <ivan@mail.ru>:\nold", "Привет"),
    ("Привет\n\nИван Иванов написал(а):\n> old", "Привет"),
    ("Текст\n> цитата\nещё текст", "Текст\nещё текст"),
    ("Текст\n-- \nподпись", "Текст"),
    ("Хочу тур\n\nОтправлено с iPhone", "Хочу тур"),
    ("Я пишу: хочу тур\nвторая строка", "Я пишу: хочу тур\nвторая строка"),
])
def test_strip_quoted(text, expected):
    assert strip_quoted(text) == expected


def test_html_to_text():
    assert html_to_text("<style>p{}</style><p>Да&nbsp;нет</p><br>ок").strip() == "Да\xa0нет\n\nок"
