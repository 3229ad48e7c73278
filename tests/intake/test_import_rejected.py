"""Import: JSON lines honour the chosen source, every rejected row is kept with its original values (and
comes back as a CSV that can be fixed and imported again), and parsing reports its progress."""

from __future__ import annotations

import csv
import io
import json

from sqlmodel import select

from crystal_bay.db import session_scope
from crystal_bay.models import Customer, Lead
from crystal_bay.services import intake_import
from tests.factories import SYSTEM
from tests.intake.support import unique_phone


def import_file(session, **kw):
    return intake_import.import_file(session=session, commit=False, **kw)


def source_of(session, phone: str) -> str:
    return session.exec(select(Lead.source).join(Customer, Customer.id == Lead.customer_id)
                        .where(Customer.phone == phone)).one()


def test_json_lines_without_a_source_get_the_chosen_default(session):
    plain, named = unique_phone(), unique_phone()
    content = "\n".join([json.dumps({"name": "Оля", "phone": plain, "message": "звонила"}),
                         json.dumps({"name": "Тимур", "phone": named, "source": "telegram"})]).encode()
    report = import_file(session, content=content, content_type="application/x-ndjson", default_source="walk_in",
                         actor=SYSTEM)
    assert report.imported == 2
    assert (source_of(session, plain), source_of(session, named)) == ("walk_in", "telegram")


def test_json_lines_source_over_http(client, keys):
    phone = unique_phone()
    response = client.post("/api/v1/leads/import", params={"source": "phone"},
                           content=json.dumps({"phone": phone, "name": "Ерлан"}).encode(),
                           headers={**keys.auth(), "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200 and response.json()["imported"] == 1, response.text
    with session_scope() as session:
        assert source_of(session, phone) == "phone"


def test_every_rejected_row_is_kept_with_its_original_values():
    rows = 10_050  # more than the 10,000 the report used to list
    content = ("Имя;Телефон;Комментарий\n" + "".join(f"Клиент {i};12{i};строка {i}\n" for i in range(rows))).encode()
    parsed = intake_import.parse_file(content)
    report = intake_import.ImportRun(parsed, actor=SYSTEM, commit=False).report
    answer = report.as_dict()
    assert answer["rejected"] == rows and len(answer["rejected_rows"]) == rows
    assert answer["rejected_rows_truncated"] is False
    last = answer["rejected_rows"][-1]
    assert (last["row"], last["field"]) == (rows + 1, "phone")
    assert last["values"] == {"Имя": f"Клиент {rows - 1}", "Телефон": f"12{rows - 1}",
                              "Комментарий": f"строка {rows - 1}"}


def test_rejected_json_lines_keep_the_original_line():
    line = '{"name": "Оля", "phone": "12"}'
    report = intake_import.ImportRun(intake_import.parse_file(f"{line}\n{{broken\n".encode()), actor=SYSTEM,
                                     commit=False).report
    assert [r["values"] for r in report.as_dict()["rejected_rows"]] == [{"line": line}, {"line": "{broken"}]


def test_the_rejected_csv_can_be_fixed_and_imported_again(session):
    good, fixed = unique_phone(), unique_phone()
    content = ("Имя;Телефон;E-mail;Комментарий;Что-то своё\n"
               f"Айгерим;{good};;Вьетнам;x\n"
               "Без контакта;;;просто текст;y\n"
               "Плохой телефон;12345;;Турция;z\n"
               "Плохая почта;;not-an-email;;w\n").encode("utf-8-sig")
    report = import_file(session, content=content, actor=SYSTEM)
    assert (report.imported, report.rejected_count) == (1, 3)

    data = intake_import.rejected_csv(report, headers=("Строка", "Поле", "Причина"),
                                      describe=lambda e: (e.field or "", e.code))
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == ["Строка", "Поле", "Причина", "Имя", "Телефон", "E-mail", "Комментарий", "Что-то своё"]
    assert table[1] == ["3", "phone", "contact_required", "Без контакта", "", "", "просто текст", "y"]
    assert [row[0] for row in table[1:]] == ["3", "4", "5"]

    again = import_file(session, content=data, actor=SYSTEM)  # unchanged: the same rows are refused again
    assert (again.imported, again.rejected_count) == (0, 3)
    table[2][4] = fixed  # the admin fixes the phone in Excel and imports the file
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(table)
    after_fix = import_file(session, content=out.getvalue().encode("utf-8-sig"), actor=SYSTEM)
    assert (after_fix.imported, after_fix.rejected_count) == (1, 2)
    customer = session.exec(select(Customer).where(Customer.phone == fixed)).one()
    assert customer.name == "Плохой телефон"
    assert [r.row for r in after_fix.rejected] == [2, 4]  # rows of the rejected file, header included


class RecordingProgress(intake_import.ParseProgress):
    """Keeps every value parsing reported."""

    def __setattr__(self, name, value):
        if name == "rows":
            self.__dict__.setdefault("seen", []).append(value)
        super().__setattr__(name, value)


def test_parsing_reports_how_many_rows_it_has_read():
    lines = 1_800
    for content in (("phone\n" + "".join(f"{unique_phone()}\n" for _ in range(lines))).encode(),
                    "".join(json.dumps({"phone": unique_phone()}) + "\n" for _ in range(lines)).encode()):
        progress = RecordingProgress()
        parsed = intake_import.parse_file(content, progress=progress)
        assert len(parsed.rows) == lines
        midway = [n for n in progress.seen if 0 < n < progress.total]
        assert len(midway) >= 3 and midway == sorted(midway)
        assert progress.rows == progress.total and progress.fraction == 1.0
