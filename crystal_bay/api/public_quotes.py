"""The public quote page: `/q/<token>`, no login, mobile-friendly plain HTML.

The customer sees the offers (with the hotel's photos and description when the operator's catalog
has them), presses «Выбрать» on one or asks a question; both land on the lead's timeline (see
services.quotes). Opening the page is counted; the PDF is at `/q/<token>/pdf`. An expired or
revoked link answers 410 with a page that says so; an unknown one 404. Forms post back here and
redirect (303) to the page, which then shows that the answer was received.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crystal_bay.db import session_scope
from crystal_bay.services import quote_render, quotes
from crystal_bay.services.errors import DomainError, NotFound
from crystal_bay.settings import get_settings

router = APIRouter(tags=["quotes"], include_in_schema=False)
MAX_FORM = 16_384

PAGE_TEXTS = {
    "ru": {"choose": "Выбрать", "chosen": "Вы выбрали этот вариант", "ask": "Задать вопрос менеджеру",
           "send": "Отправить", "question_placeholder": "Ваш вопрос или пожелание…", "pdf": "Скачать PDF",
           "received_choice": "Спасибо! Мы получили ваш выбор — менеджер свяжется с вами, чтобы перепроверить цену "
                              "и забронировать тур.",
           "received_question": "Спасибо! Вопрос отправлен менеджеру, он ответит вам в ближайшее время.",
           "expired": "Срок действия этой подборки истёк. Напишите менеджеру — он подберёт актуальные варианты.",
           "revoked": "Эта подборка больше не действует. Напишите менеджеру — он пришлёт новую.",
           "unknown": "Такой подборки нет. Проверьте ссылку или напишите менеджеру.",
           "comment": "Комментарий (необязательно)"},
    "en": {"choose": "Choose", "chosen": "You chose this option", "ask": "Ask the manager a question",
           "send": "Send", "question_placeholder": "Your question or wish…", "pdf": "Download PDF",
           "received_choice": "Thank you! We received your choice — the manager will contact you to re-check the "
                              "price and book the tour.",
           "received_question": "Thank you! Your question went to the manager, who will answer shortly.",
           "expired": "This selection has expired. Write to the manager for current offers.",
           "revoked": "This selection is no longer valid. Write to the manager for a new one.",
           "unknown": "There is no such selection. Check the link or write to the manager.",
           "comment": "Comment (optional)"},
}

CSS = """
*{box-sizing:border-box}body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Arial,sans-serif;
background:#f1f5f9;color:#0f172a;line-height:1.45}main{max-width:760px;margin:0 auto;padding:16px}
header{display:flex;align-items:center;gap:10px;margin:8px 0 16px}header img{width:36px;height:36px}
.brand{font-weight:700;color:#0e7490;font-size:18px}h1{font-size:22px;margin:0 0 4px}.muted{color:#64748b;font-size:14px}
.card{background:#fff;border-radius:14px;box-shadow:0 1px 3px rgba(15,23,42,.08);margin:14px 0;overflow:hidden}
.card.chosen{outline:3px solid #0e7490}.photos{display:flex;overflow-x:auto;scroll-snap-type:x mandatory}
.photos img{width:100%;flex:0 0 100%;aspect-ratio:16/10;object-fit:cover;scroll-snap-align:start}
.body{padding:14px 16px}.label{color:#0e7490;font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.hotel{font-size:19px;font-weight:700;margin:2px 0}dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;
margin:10px 0;font-size:15px}dt{color:#64748b}dd{margin:0}.price{font-size:24px;font-weight:700;color:#0e7490}
.pp{font-size:13px;color:#64748b;font-weight:400}.desc{font-size:14px;color:#334155}
button,.btn{display:inline-block;width:100%;padding:14px;border:0;border-radius:10px;background:#0e7490;color:#fff;
font-size:17px;font-weight:600;cursor:pointer;text-align:center;text-decoration:none;margin-top:10px}
.btn.secondary{background:#e2e8f0;color:#0f172a}textarea,input[type=text]{width:100%;padding:12px;border:1px solid #cbd5e1;
border-radius:10px;font-size:16px;font-family:inherit}.notice{background:#ecfeff;border:1px solid #67e8f9;color:#155e75;
padding:12px 14px;border-radius:10px;margin:12px 0}.demo{background:#fef3c7;color:#92400e;padding:8px 12px;border-radius:8px;
margin:8px 0;font-size:14px}.badge{display:inline-block;background:#e0f2fe;color:#075985;border-radius:999px;padding:2px 10px;
font-size:13px}details{margin-top:8px}summary{cursor:pointer;color:#0e7490}footer{font-size:13px;color:#64748b;margin:20px 0}
"""


def _page(title: str, body: str, lang: str = "ru", status: int = 200) -> HTMLResponse:
    e = html.escape
    doc = (f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
           f'<title>{e(title)}</title><link rel="icon" href="/favicon.svg"><style>{CSS}</style></head><body><main>'
           f'<header><div class="brand">Crystal Bay Travel</div></header>{body}</main></body></html>')
    return HTMLResponse(doc, status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                                          "X-Robots-Tag": "noindex"})


def _closed(kind: str, lang: str = "ru") -> HTMLResponse:
    t = quotes_texts(lang)
    status = 404 if kind == "unknown" else 410
    return _page("Crystal Bay Travel", f'<div class="notice" data-state="{kind}">{html.escape(t[kind])}</div>', lang,
                 status)


def quotes_texts(lang: str) -> dict[str, str]:
    return PAGE_TEXTS.get(lang, PAGE_TEXTS["ru"])


def _offer_card(view: quotes.QuoteView, offer, i: int, token: str, lang: str) -> str:
    e = html.escape
    t, rt = quotes_texts(lang), quote_render._texts(lang)
    info = quote_render.details(offer)
    images = [u for u in info.get("images") or [] if isinstance(u, str)]
    photos = "".join(f'<img src="{e(u)}" alt="{e(offer.hotel)}" loading="lazy">' for u in images[:5])
    chosen = offer.id == view.quote.chosen_offer_id
    action = (f'<div class="badge" data-chosen="1">✓ {e(t["chosen"])}</div>' if chosen else
              f'<form method="post" action="/q/{e(token)}/choose"><input type="hidden" name="offer_id" value="{offer.id}">'
              f'<details><summary>{e(t["comment"])}</summary><input type="text" name="comment" maxlength="500"></details>'
              f'<button type="submit" data-offer="{offer.id}">{e(t["choose"])}</button></form>')
    desc = f'<p class="desc">{e(str(info["description"]))}</p>' if info.get("description") else ""
    return (f'<section class="card{" chosen" if chosen else ""}" data-offer-card="{offer.id}">'
            f'{f"<div class=photos>{photos}</div>" if photos else ""}<div class="body">'
            f'<div class="label">{e(rt["option"].format(i=i))}</div><div class="hotel">{e(offer.hotel)}</div>'
            f'<div class="muted">{e(", ".join(p for p in (offer.resort, offer.country) if p))}</div>'
            f'<dl><dt>{e(rt["dates"])}</dt><dd>{offer.date_from:%d.%m.%Y} — {quote_render.offer_date_to(offer):%d.%m.%Y}, '
            f'{offer.nights} {e(rt["nights"])}</dd><dt>{e(rt["meal"])}</dt><dd>{e(quote_render.meal_label(offer.meal, lang))}</dd>'
            f'<dt>{e(rt["room"])}</dt><dd>{e(offer.room or "")}</dd><dt>{e(rt["party"])}</dt><dd>{e(quote_render.party(offer, lang))}</dd>'
            f'<dt>{e(rt["availability"])}</dt><dd>{e(quote_render.availability_label(quote_render.offer_availability(offer), lang))}</dd></dl>'
            f'<div class="price">{e(quotes.money(offer.price, offer.currency))} <span class="pp">{e(rt["total"])} · '
            f'{e(quote_render.per_person(offer))} {e(rt["per_person"])}</span></div>{desc}{action}</div></section>')


def render_page(view: quotes.QuoteView, token: str, done: str = "") -> HTMLResponse:
    e = html.escape
    lang = view.document.language or "ru"
    t, rt = quotes_texts(lang), quote_render._texts(lang)
    notice = ""
    if done in ("choice", "question"):
        notice = f'<div class="notice" data-received="{done}">{e(t["received_" + done])}</div>'
    demo = f'<div class="demo">{e(rt["demo"])}</div>' if view.document.demo else ""
    note = f'<p style="white-space:pre-wrap">{e(view.document.note)}</p>' if view.document.note else ""
    cards = "".join(_offer_card(view, o, i, token, lang) for i, o in enumerate(view.offers, start=1))
    manager = view.document.manager or {}
    contacts = " · ".join(e(v) for v in (manager.get("name"), manager.get("phone"), manager.get("email")) if v)
    body = (f'<h1>{e(view.document.title or rt["quote"].format(n=view.number))}</h1>'
            f'<div class="muted">{e(rt["quote"].format(n=view.number))} · {e(rt["valid"])} {e(quote_render.expires_text(view))}</div>'
            f'{notice}{demo}{note}{cards}'
            f'<section class="card"><div class="body"><form method="post" action="/q/{e(token)}/ask">'
            f'<div class="hotel" style="font-size:17px">{e(t["ask"])}</div>'
            f'<textarea name="text" rows="3" maxlength="{quotes.MAX_QUESTION}" required placeholder="{e(t["question_placeholder"])}"></textarea>'
            f'<button type="submit" data-ask="1">{e(t["send"])}</button></form>'
            f'<a class="btn secondary" href="/q/{e(token)}/pdf">{e(t["pdf"])}</a></div></section>'
            f'<footer><b>{e(rt["conditions"])}.</b> {e(view.document.conditions)}<br><br>{e(rt["manager"])}: {contacts}</footer>')
    return _page(view.document.title or "Crystal Bay Travel", body, lang)


def _state_or_none(token: str) -> tuple[str, str]:
    """(state, language) of a token: unknown | expired | revoked | active."""
    with session_scope() as session:
        try:
            quote = quotes.by_token(session=session, token=token)
        except NotFound:
            return "unknown", "ru"
        view = quotes.quote_view(session=session, quote_id=quote.id)
        return quotes.link_state(quote), view.document.language or "ru"


@router.get("/q/{token}", response_class=HTMLResponse)
def quote_page(token: str, done: str = "") -> HTMLResponse:
    """The customer's page; each opening (not the redirect after an answer) is counted."""
    state, lang = _state_or_none(token)
    if state != "active":
        return _closed(state, lang)
    with session_scope() as session:
        if done:
            view = quotes.quote_view(session=session, quote_id=quotes.by_token(session=session, token=token).id)
        else:
            view = quotes.record_view(session=session, token=token)
        return render_page(view, token, done)


@router.get("/q/{token}/pdf")
def quote_pdf(token: str) -> Response:
    state, lang = _state_or_none(token)
    if state != "active":
        return _closed(state, lang)
    with session_scope() as session:
        view = quotes.quote_view(session=session, quote_id=quotes.by_token(session=session, token=token).id)
        pdf = quote_render.render_pdf(view, public_url=public_url(token))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="crystal-bay-quote-{view.number}.pdf"', "Cache-Control": "no-store"})


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body())[:MAX_FORM]
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


@router.post("/q/{token}/choose")
async def choose(token: str, request: Request) -> Response:
    form = await _form(request)
    try:
        offer_id = int(form.get("offer_id", ""))
    except ValueError:
        offer_id = 0
    return _answer(token, lambda s: quotes.choose_offer(session=s, token=token, offer_id=offer_id,
                                                       comment=form.get("comment", "")), "choice")


@router.post("/q/{token}/ask")
async def ask(token: str, request: Request) -> Response:
    form = await _form(request)
    return _answer(token, lambda s: quotes.ask_question(session=s, token=token, text=form.get("text", "")), "question")


def _answer(token: str, action, done: str) -> Response:
    state, lang = _state_or_none(token)
    if state != "active":
        return _closed(state, lang)
    try:
        with session_scope() as session:
            action(session)
    except DomainError as exc:
        return _page("Crystal Bay Travel", f'<div class="notice">{html.escape(exc.message)}</div>'
                                           f'<a class="btn" href="/q/{html.escape(token)}">←</a>', lang, exc.status_code)
    return RedirectResponse(f"/q/{token}?done={done}", status_code=303)


def public_base() -> str:
    """Where customers open links: PUBLIC_BASE_URL, else the backend's own address (Reflex api_url)."""
    configured = getattr(get_settings(), "public_base_url", None)
    if configured:
        return str(configured).rstrip("/")
    from reflex.config import get_config

    return str(get_config().api_url).rstrip("/")


def public_url(token: str) -> str:
    return f"{public_base()}/q/{token}"
