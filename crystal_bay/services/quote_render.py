"""A quote as the customer receives it: a branded HTML e-mail and a PDF (Russian by default).

The PDF uses fpdf2 (pure Python) with DejaVu Sans, which covers Cyrillic and Kazakh letters. The
font ships in `assets/fonts/` (Bitstream Vera licence: redistribution allowed; the licence file is
beside it) so a fresh machine needs no system fonts; Debian's fonts-dejavu-core copy is used only
if the bundled file is missing.
"""

from __future__ import annotations

import datetime as dt
import html
from functools import lru_cache
from pathlib import Path

from crystal_bay.models import TourOffer
from crystal_bay.services.quotes import QuoteView, money
from crystal_bay.settings import ROOT

FONT_DIRS = (ROOT / "assets" / "fonts", Path("/usr/share/fonts/truetype/dejavu"))
LOGO = ROOT / "assets" / "logo.svg"
BRAND = "Crystal Bay Travel"
ACCENT = (14, 116, 144)  # #0e7490, the logo's deep cyan

MEALS_RU = {"RO": "без питания", "BB": "завтраки", "HB": "завтрак и ужин", "FB": "полный пансион",
            "AI": "всё включено", "UAI": "ультра всё включено"}
MEALS_EN = {"RO": "room only", "BB": "breakfast", "HB": "half board", "FB": "full board", "AI": "all inclusive",
            "UAI": "ultra all inclusive"}
AVAILABILITY_RU = {"available": "есть места", "few": "мало мест", "request": "под запрос", "stop": "мест нет"}
AVAILABILITY_EN = {"available": "available", "few": "few places left", "request": "on request", "stop": "sold out"}

TEXTS = {
    "ru": {"quote": "Коммерческое предложение №{n}", "for": "Для", "option": "Вариант {i}", "dates": "Даты",
           "nights": "ночей", "meal": "Питание", "room": "Номер", "party": "Туристы", "adults": "взр.",
           "children": "дет.", "per_person": "на человека", "total": "за весь тур", "conditions": "Условия",
           "manager": "Ваш менеджер", "online": "Онлайн-версия и выбор варианта", "valid": "Предложение действует до",
           "demo": "ДЕМО: цены учебные, из песочницы туроператора", "availability": "Наличие", "chosen": "Выбран клиентом"},
    "en": {"quote": "Quote #{n}", "for": "For", "option": "Option {i}", "dates": "Dates", "nights": "nights",
           "meal": "Meals", "room": "Room", "party": "Travellers", "adults": "ad.", "children": "ch.",
           "per_person": "per person", "total": "for the whole trip", "conditions": "Conditions",
           "manager": "Your manager", "online": "Online version and choosing an option", "valid": "Valid until",
           "demo": "DEMO: sample prices from the operator sandbox", "availability": "Availability",
           "chosen": "Chosen by the customer"},
}


def _texts(lang: str) -> dict[str, str]:
    return TEXTS.get(lang, TEXTS["ru"])


def meal_label(code: str | None, lang: str = "ru") -> str:
    code = (code or "").upper()
    name = (MEALS_EN if lang == "en" else MEALS_RU).get(code)
    return f"{code} ({name})" if name else code


def availability_label(value: str, lang: str = "ru") -> str:
    return (AVAILABILITY_EN if lang == "en" else AVAILABILITY_RU).get(value, value)


def offer_availability(offer: TourOffer) -> str:
    return str((offer.raw or {}).get("cb_availability") or ("available" if offer.available else "stop"))


def offer_date_to(offer: TourOffer) -> dt.date:
    raw = (offer.raw or {}).get("cb_date_to")
    return dt.date.fromisoformat(raw) if raw else offer.date_from + dt.timedelta(days=offer.nights)


def party(offer: TourOffer, lang: str = "ru") -> str:
    t = _texts(lang)
    ages = (offer.raw or {}).get("cb_ages") or []
    text = f"{offer.adults} {t['adults']}"
    if offer.children:
        text += f" + {offer.children} {t['children']}" + (f" ({', '.join(str(a) for a in ages)})" if ages else "")
    return text


def per_person(offer: TourOffer) -> str:
    people = max(1, offer.adults + offer.children)
    return money(offer.price / people, offer.currency)


def details(offer: TourOffer) -> dict:
    return dict((offer.raw or {}).get("cb_details") or {})


def expires_text(view: QuoteView) -> str:
    return f"{view.quote.expires_at:%d.%m.%Y}" if view.quote.expires_at else ""


# ---------- HTML e-mail ----------


def render_email_html(view: QuoteView, *, public_url: str = "") -> str:
    """The quote as a self-contained HTML e-mail (inline styles, no external assets but hotel photos)."""
    lang = view.document.language or "ru"
    t = _texts(lang)
    e = html.escape
    cards = []
    for i, offer in enumerate(view.offers, start=1):
        info = details(offer)
        image = (info.get("images") or [None])[0]
        img = (f'<img src="{e(image)}" alt="" width="560" style="width:100%;max-width:560px;border-radius:8px;'
               f'display:block;margin-bottom:8px">' if image and image.startswith("http") else "")
        cards.append(f"""
<tr><td style="padding:12px 0">
  <div style="border:1px solid #d6e4ea;border-radius:10px;padding:16px">
    {img}
    <div style="color:#0e7490;font-size:12px;text-transform:uppercase;letter-spacing:.05em">{e(t['option'].format(i=i))}</div>
    <div style="font-size:18px;font-weight:bold;margin:4px 0">{e(offer.hotel)}</div>
    <div style="color:#475569">{e(', '.join(p for p in (offer.resort, offer.country) if p))}</div>
    <table style="margin:10px 0;font-size:14px;color:#0f172a">
      <tr><td style="padding-right:12px;color:#64748b">{e(t['dates'])}</td>
          <td>{offer.date_from:%d.%m.%Y} — {offer_date_to(offer):%d.%m.%Y}, {offer.nights} {e(t['nights'])}</td></tr>
      <tr><td style="padding-right:12px;color:#64748b">{e(t['meal'])}</td><td>{e(meal_label(offer.meal, lang))}</td></tr>
      <tr><td style="padding-right:12px;color:#64748b">{e(t['room'])}</td><td>{e(offer.room or '')}</td></tr>
      <tr><td style="padding-right:12px;color:#64748b">{e(t['party'])}</td><td>{e(party(offer, lang))}</td></tr>
      <tr><td style="padding-right:12px;color:#64748b">{e(t['availability'])}</td>
          <td>{e(availability_label(offer_availability(offer), lang))}</td></tr>
    </table>
    <div style="font-size:22px;font-weight:bold;color:#0e7490">{e(money(offer.price, offer.currency))}
      <span style="font-size:13px;font-weight:normal;color:#64748b">{e(t['total'])} · {e(per_person(offer))} {e(t['per_person'])}</span></div>
    {f'<p style="color:#334155;font-size:13px">{e(info["description"])}</p>' if info.get("description") else ''}
  </div>
</td></tr>""")
    manager = view.document.manager or {}
    contacts = " · ".join(e(v) for v in (manager.get("name"), manager.get("phone"), manager.get("email")) if v)
    demo = (f'<div style="background:#fef3c7;color:#92400e;padding:8px 12px;border-radius:6px;margin-bottom:12px">'
            f'{e(t["demo"])}</div>') if view.document.demo else ""
    link = (f'<p><a href="{e(public_url)}" style="display:inline-block;background:#0e7490;color:#fff;padding:10px 18px;'
            f'border-radius:8px;text-decoration:none">{e(t["online"])}</a></p>') if public_url else ""
    note = f'<p style="white-space:pre-wrap">{e(view.document.note)}</p>' if view.document.note else ""
    return f"""<!doctype html>
<html lang="{e(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{e(t['quote'].format(n=view.number))}</title></head>
<body style="margin:0;background:#f1f5f9;font-family:Arial,Helvetica,sans-serif;color:#0f172a">
<table role="presentation" width="100%" style="background:#f1f5f9"><tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="600" style="max-width:600px;background:#fff;border-radius:12px;padding:24px">
<tr><td>
  <div style="font-size:20px;font-weight:bold;color:#0e7490">{BRAND}</div>
  <h1 style="font-size:22px;margin:12px 0 4px">{e(t['quote'].format(n=view.number))}</h1>
  <div style="color:#64748b">{e(t['for'])}: {e(view.customer_name)} · {e(t['valid'])} {e(expires_text(view))}</div>
  {demo}{note}
</td></tr>
{''.join(cards)}
<tr><td>
  <h3 style="margin:16px 0 4px">{e(t['conditions'])}</h3>
  <p style="color:#334155;font-size:13px">{e(view.document.conditions)}</p>
  {link}
  <p style="color:#475569;font-size:13px">{e(t['manager'])}: {contacts}</p>
</td></tr></table></td></tr></table></body></html>"""


# ---------- PDF ----------


@lru_cache(maxsize=1)
def _font_paths() -> tuple[Path, Path]:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    raise FileNotFoundError("DejaVuSans.ttf is missing: it ships in assets/fonts/ (or install fonts-dejavu-core).")


def render_pdf(view: QuoteView, *, public_url: str = "") -> bytes:
    """The quote as an A4 PDF with the brand, each offer, conditions and the manager's contacts."""
    from fpdf import FPDF

    lang = view.document.language or "ru"
    t = _texts(lang)
    regular, bold = _font_paths()
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_title(t["quote"].format(n=view.number))
    pdf.set_author(BRAND)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    try:
        pdf.image(str(LOGO), x=15, y=14, w=12, h=12)
        pdf.set_x(30)
    except Exception:  # noqa: BLE001 - the brand name alone is enough when the logo cannot be drawn
        pass
    pdf.set_font("DejaVu", "B", 16)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 12, BRAND, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(15, 23, 42)
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(0, 8, t["quote"].format(n=view.number), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.set_text_color(100, 116, 139)
    pdf.cell(0, 6, f"{t['for']}: {view.customer_name}  ·  {view.quote.created_at:%d.%m.%Y}  ·  "
                   f"{t['valid']} {expires_text(view)}", new_x="LMARGIN", new_y="NEXT")
    if view.document.demo:
        pdf.set_fill_color(254, 243, 199)
        pdf.set_text_color(146, 64, 14)
        pdf.cell(0, 7, t["demo"], fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(15, 23, 42)
    if view.document.note:
        pdf.ln(2)
        pdf.multi_cell(width, 5, view.document.note, new_x="LMARGIN", new_y="NEXT")
    for i, offer in enumerate(view.offers, start=1):
        _pdf_offer(pdf, offer, i, lang, width, chosen=offer.id == view.quote.chosen_offer_id)
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 6, t["conditions"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(width, 4.5, view.document.conditions, align="L", new_x="LMARGIN", new_y="NEXT")
    manager = view.document.manager or {}
    contacts = " · ".join(v for v in (manager.get("name"), manager.get("phone"), manager.get("email")) if v)
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(0, 6, f"{t['manager']}: {contacts}", new_x="LMARGIN", new_y="NEXT")
    if public_url:
        pdf.set_font("DejaVu", "", 9)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(width, 5, f"{t['online']}: {public_url}", link=public_url, align="L", new_x="LMARGIN",
                       new_y="NEXT")
    return bytes(pdf.output())


def _pdf_offer(pdf, offer: TourOffer, i: int, lang: str, width: float, *, chosen: bool) -> None:
    t = _texts(lang)
    info = details(offer)
    if pdf.get_y() > pdf.h - 70:
        pdf.add_page()
    pdf.ln(4)
    top = pdf.get_y()
    pdf.set_draw_color(214, 228, 234)
    pdf.set_text_color(*ACCENT)
    pdf.set_font("DejaVu", "B", 9)
    label = t["option"].format(i=i).upper() + (f"  ·  {t['chosen']}" if chosen else "")
    pdf.cell(0, 5, label, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(15, 23, 42)
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(width - 55, 6, offer.hotel, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.set_text_color(71, 85, 105)
    pdf.cell(0, 5, ", ".join(p for p in (offer.resort, offer.country) if p), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(15, 23, 42)
    rows = [
        (t["dates"], f"{offer.date_from:%d.%m.%Y} — {offer_date_to(offer):%d.%m.%Y}, {offer.nights} {t['nights']}"),
        (t["meal"], meal_label(offer.meal, lang)), (t["room"], offer.room or ""), (t["party"], party(offer, lang)),
        (t["availability"], availability_label(offer_availability(offer), lang)),
    ]
    for name, value in rows:
        pdf.set_font("DejaVu", "", 9)
        pdf.set_text_color(100, 116, 139)
        pdf.cell(28, 5, name)
        pdf.set_text_color(15, 23, 42)
        pdf.set_font("DejaVu", "", 10)
        pdf.cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
    if info.get("description"):
        pdf.set_font("DejaVu", "", 8.5)
        pdf.set_text_color(51, 65, 85)
        pdf.multi_cell(width, 4.2, str(info["description"])[:600], align="L", new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width - 55, top + 5)
    pdf.set_font("DejaVu", "B", 15)
    pdf.set_text_color(*ACCENT)
    pdf.cell(55, 8, money(offer.price, offer.currency), align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8.5)
    pdf.set_text_color(100, 116, 139)
    pdf.cell(55, 4.5, t["total"], align="R", new_x="LEFT", new_y="NEXT")
    pdf.cell(55, 4.5, f"{per_person(offer)} {t['per_person']}", align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(15, 23, 42)
    pdf.set_y(max(bottom, pdf.get_y()) + 2)
    pdf.rect(pdf.l_margin - 2, top - 2, width + 4, pdf.get_y() - top + 1)
