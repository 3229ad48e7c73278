"""Bulk import: good, duplicate and broken rows in one file; repeating the file creates nothing."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from crystal_bay.models import Customer, Lead, Message
from crystal_bay.services import intake, intake_import
from crystal_bay.services.errors import ValidationFailed
from crystal_bay.services.intake_schemas import LeadIn
from tests.factories import SYSTEM, count, make_customer
from tests.intake.support import row_counts, spellings, unique_email, unique_phone


def import_file(session, **kw):
    """Import inside the test's rolled-back transaction (flush per chunk instead of commit)."""
    return intake_import.import_file(session=session, commit=False, **kw)


def mixed_csv(known_phone: str) -> tuple[bytes, dict]:
    """Good rows, a repeated row, a row of a known customer, and broken rows; with what to expect."""
    a, b, c = unique_phone(), unique_phone(), unique_phone()
    rows = [
        "Имя;Телефон;E-mail;Сообщение;Направление;Дата вылета;Взрослые;Бюджет;Валюта;Теги;Источник;Номер заявки",
        f"Айгерим;{spellings(a)[0]};;Хочу во Вьетнам;Вьетнам;01.03.2027;2;1 500,50;usd;горящий, VIP;сайт;",  # 2 ok
        f"Марат;{spellings(b)[1]};{unique_email()};;Турция;2027-06-10;3;;;;телефон;ext-{b}",  # 3 ok
        f"Айгерим;{spellings(a)[0]};;Хочу во Вьетнам;Вьетнам;01.03.2027;2;1 500,50;usd;горящий, VIP;сайт;",  # 4 dup
        f"Старый клиент;{spellings(known_phone)[2]};;Снова хочу;;;;;;;;",  # 5 merged into the open lead
        "Без контактов;;;просто текст;;;;;;;;",  # 6 rejected: no contact
        "Ошибка телефона;12345;;;;;;;;;;",  # 7 rejected: phone
        f"Плохая дата;{spellings(c)[0]};;;;31.02.2027;;;;;;",  # 8 rejected: date
        f"Плохие взрослые;{spellings(c)[1]};;;;;много;;;;;",  # 9 rejected: adults
        f"Марат снова;{b};;;;;;;;;телефон;ext-{b}",  # 10 duplicate by external id
        ";;;;;;;;;;;",  # blank line: skipped, not counted
    ]
    expect = {"total": 9, "imported": 2, "merged": 1, "duplicates": 2, "rejected": 4,
              "rejected_rows": {6: "phone", 7: "phone", 8: "date_from", 9: "adults"}}
    return ("\n".join(rows) + "\n").encode("utf-8-sig"), expect


def check_report(report: dict, expect: dict) -> None:
    assert {k: report[k] for k in ("total", "imported", "merged", "duplicates", "rejected")} == {
        k: expect[k] for k in ("total", "imported", "merged", "duplicates", "rejected")}
    assert {r["row"]: r["field"] for r in report["rejected_rows"]} == expect["rejected_rows"]
    assert all(r["message"] for r in report["rejected_rows"])


def test_a_mixed_file_imports_good_rows_and_reports_the_rest(session):
    known = unique_phone()
    open_lead = intake.submit_lead(session=session, data=LeadIn(phone=known, message="раньше"), actor=SYSTEM)
    content, expect = mixed_csv(known)
    report = import_file(session, content=content, content_type="text/csv", actor=SYSTEM)
    check_report(report.as_dict(), expect)
    lead = session.exec(select(Lead).join(Customer, Customer.id == Lead.customer_id)
                        .where(Customer.name == "Айгерим").order_by(Lead.id.desc())).first()
    assert (lead.country, str(lead.budget), lead.currency, lead.source, str(lead.date_from)) == (
        "Вьетнам", "1500.50", "USD", "website", "2027-03-01")
    bodies = [m.body for m in session.exec(select(Message).where(Message.lead_id == open_lead.lead_id))]
    assert bodies == ["раньше", "Снова хочу"]

    before = {m: count(session, m) for m in (Customer, Lead, Message)}
    again = import_file(session, content=content, content_type="text/csv", actor=SYSTEM)
    assert (again.imported, again.merged, again.duplicates, again.rejected_count) == (0, 0, 5, 4)
    assert {m: count(session, m) for m in before} == before


def test_windows_1251_and_explicit_mapping(session):
    phone = unique_phone()
    content = f"Клиент,Контакт,Заметка\nИван,{spellings(phone)[0]},Звонил в офис\n".encode("cp1251")
    with pytest.raises(ValidationFailed):
        intake_import.parse_file(content, mapping={"Контакт": "phone", "Заметка": "nonsense"})
    report = import_file(session, content=content, actor=SYSTEM, default_source="walk_in",
                                       mapping={"Клиент": "name", "Контакт": "phone", "Заметка": "message"})
    assert report.imported == 1
    customer = session.exec(select(Customer).where(Customer.phone == phone)).one()
    assert customer.name == "Иван"
    assert session.exec(select(Lead).where(Lead.customer_id == customer.id)).one().source == "walk_in"


def test_json_lines_use_the_api_rules(session):
    good, other = unique_phone(), unique_email()
    lines = [json.dumps({"name": "Оля", "phone": good, "adults": 2, "external_id": f"j-{good}"}),
             json.dumps({"email": other, "tags": ["из файла"]}),
             json.dumps({"phone": good, "adults": "2"}),  # wrong type
             "{not json",
             json.dumps({"phone": good, "unknown": 1}),
             ""]
    report = import_file(session, content="\n".join(lines).encode(), actor=SYSTEM)
    assert (report.imported, report.rejected_count) == (2, 3)
    assert [(e.row, e.code) for e in report.rejected] == [(3, "int_type"), (4, "malformed_json"),
                                                           (5, "extra_forbidden")]


def test_many_rows_of_known_customers_with_extra_phones_merge_in_batches(session):
    customers = []
    for _ in range(8):  # more unmatched main phones than the targeted lookups: the extra phones are scanned once
        main, extra = unique_phone(), unique_phone()
        c = make_customer(session, name="Есть", phone=main)
        c.phones = [main, extra]
        session.add(c)
        customers.append((c, extra))
    session.flush()
    content = ("phone,message\n" + "".join(f"{spellings(extra)[0]},привет\n" for _, extra in customers)).encode()
    report = import_file(session, content=content, actor=SYSTEM)
    assert report.imported == 8 and report.merged == 0
    for c, _ in customers:
        assert len(session.exec(select(Lead).where(Lead.customer_id == c.id)).all()) == 1


def test_a_file_over_the_row_limit_is_refused_whole(session, monkeypatch):
    monkeypatch.setattr(intake_import, "MAX_ROWS", 3)
    content = ("phone\n" + "".join(f"{unique_phone()}\n" for _ in range(4))).encode()
    with pytest.raises(ValidationFailed) as exc:
        import_file(session, content=content, actor=SYSTEM)
    assert exc.value.code == "too_many_rows"


def test_guess_mapping_reads_russian_and_english_headers():
    mapping = intake_import.guess_mapping(["ФИО", "Тел.", "E-mail", "Комментарий", "Бюджет", "Что-то ещё",
                                           "utm_source", "Мобильный"])
    assert mapping == {"ФИО": "name", "Тел.": "phone", "E-mail": "email", "Комментарий": "message",
                       "Бюджет": "budget", "Что-то ещё": None, "utm_source": "utm_source", "Мобильный": None}
    preview = intake_import.preview("Имя;Телефон\nА;1\nБ;2\n".encode())
    assert preview.format == "csv" and preview.columns == ["Имя", "Телефон"] and preview.sample == [["А", "1"],
                                                                                                    ["Б", "2"]]


# ---------- over HTTP ----------


def test_import_route_reports_and_a_repeat_creates_nothing(client, keys):
    content, expect = mixed_csv(unique_phone())
    expect = {**expect, "imported": 3, "merged": 0}  # the "known" phone is new here
    headers = {**keys.auth(), "Content-Type": "text/csv; charset=utf-8"}
    first = client.post("/api/v1/leads/import", content=content, headers=headers)
    assert first.status_code == 200, first.text
    check_report(first.json(), expect)
    counts = row_counts()
    again = client.post("/api/v1/leads/import", files={"file": ("leads.csv", content, "text/csv")},
                        headers=keys.auth())
    assert again.status_code == 200 and again.json()["imported"] == 0 and row_counts() == counts


def test_import_route_refusals(client, keys):
    auth = keys.auth()
    csv_headers = {**auth, "Content-Type": "text/csv"}
    assert client.post("/api/v1/leads/import", content=b"phone\n", headers={**keys.auth("read"),
                                                                          "Content-Type": "text/csv"}).status_code == 403
    assert client.post("/api/v1/leads/import", content=b"x", headers={**auth, "Content-Type": "image/png"}
                       ).json()["error"]["code"] == "unsupported_media_type"
    assert client.post("/api/v1/leads/import", content=b"  \n", headers=csv_headers).json()["error"]["code"] == \
        "empty_file"
    bad_mapping = client.post("/api/v1/leads/import", params={"mapping": "[1]"}, content=b"a\n1\n",
                              headers=csv_headers)
    assert bad_mapping.status_code == 422 and bad_mapping.json()["error"]["field"] == "mapping"
    no_columns = client.post("/api/v1/leads/import", content=b"foo;bar\n1;2\n", headers=csv_headers)
    assert no_columns.status_code == 422 and no_columns.json()["error"]["code"] == "no_columns"
    no_file = client.post("/api/v1/leads/import", files={"other": ("a.csv", b"phone\n", "text/csv")}, headers=auth)
    assert no_file.status_code == 422 and no_file.json()["error"]["code"] == "file_required"
    bad_source = client.post("/api/v1/leads/import", params={"source": "pigeon"}, content=b"phone\n1\n",
                             headers=csv_headers)
    assert bad_source.status_code == 422 and bad_source.json()["error"]["field"] == "source"


def test_a_larger_file_goes_through_the_bulk_insert_path(session):
    phones = [unique_phone() for _ in range(260)]  # ≥ COPY_THRESHOLD rows per table on PostgreSQL
    content = ("Имя;Телефон;Бюджет;Теги;Возраст детей\n" + "".join(
        f"Клиент {i};{p};{1000 + i};импорт;{i % 10}\n" for i, p in enumerate(phones))).encode()
    report = import_file(session, content=content, actor=SYSTEM)
    assert (report.imported, report.rejected_count) == (260, 0)
    lead = session.exec(select(Lead).join(Customer, Customer.id == Lead.customer_id)
                        .where(Customer.phone == phones[7])).one()
    assert (str(lead.budget), lead.children_ages, lead.children, lead.utm) == ("1007.00", [7], 1, {})
    again = import_file(session, content=content, actor=SYSTEM)
    assert (again.imported, again.duplicates) == (0, 260)
