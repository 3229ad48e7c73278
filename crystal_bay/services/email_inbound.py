"""E-mail to lead (SendGrid Inbound Parse): the sender becomes the customer, the new text the message.

`strip_quoted` keeps what the customer wrote this time: it cuts the quoted conversation ("On …
wrote:", Russian "… пишет:" / "… написал(а):", mail.ru's "… от Имя <адрес>:", Outlook's
"-----Original Message-----" and "From:/Sent:" headers, "> " lines) and the signature after "-- ".
A delivery is processed once per Message-ID (SendGrid retries; the same mail may come twice).

SendGrid posts `text`, `html`, `subject`, `from`… in the mail's own charset and names it per field in
the `charsets` JSON (e.g. {"text": "windows-1251", "subject": "KOI8-R"}): `from_parse_form` decodes each
field's bytes with it. With "POST the raw, full MIME message" on, the form has an `email` field with
the whole message instead: `from_mime` reads it with the standard `email` package.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.parser import HeaderParser

from pydantic import ValidationError
from sqlmodel import Session

from crystal_bay.services import intake
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import ValidationFailed
from crystal_bay.services.intake_schemas import MAX_MESSAGE, LeadIn

_REPLY_HEADERS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^.{0,300}\b(пишет|написал|написала|написал\(а\))\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^.{0,300}\bот\b.{0,200}<[^>\s]+@[^>\s]+>\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*-{2,}\s*(Original Message|Исходное сообщение|Пересылаемое сообщение|Forwarded message)"
               r"\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above the quoted header block
]
_HEADER_BLOCK = re.compile(r"^\s*(From|От|Sent|Отправлено|Date|Дата|To|Кому|Subject|Тема)\s*:", re.IGNORECASE)
_MOBILE_FOOTER = re.compile(r"^\s*(Sent from my|Отправлено с|Отправлено из|Get Outlook for)\b", re.IGNORECASE)


def _is_reply_header(lines: list[str], i: int) -> bool:
    """Line i starts the quoted part (alone, or joined with the next line: mail clients wrap it)."""
    line = lines[i]
    candidates = [line]
    if i + 1 < len(lines) and re.search(r"\d|@", line):  # a wrapped "date, name <address>" line
        candidates.append(f"{line} {lines[i + 1]}")
    if any(p.match(c) for p in _REPLY_HEADERS for c in candidates):
        return True
    window = [ln for ln in lines[i:i + 5] if ln.strip()]
    return bool(_HEADER_BLOCK.match(line)) and line.split(":", 1)[0].strip().lower() in ("from", "от") and sum(
        1 for ln in window if _HEADER_BLOCK.match(ln)) >= 3


def strip_quoted(text: str) -> str:
    """The new part of an e-mail: quoted replies and the signature removed."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if line.rstrip() == "--" or _is_reply_header(lines, i) or _MOBILE_FOOTER.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def html_to_text(markup: str) -> str:
    """Plain text from an HTML body (for mails that have no text part)."""
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", markup or "")
    markup = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>|</li\s*>|</tr\s*>", "\n", markup)
    markup = re.sub(r"(?is)<blockquote\b.*?</blockquote\s*>", "\n", markup)
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def _clean(value: str | None) -> str:
    """No NUL characters, no lone surrogates."""
    return (value or "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


@dataclass
class InboundEmail:
    """The form fields SendGrid posts (only the ones we use)."""

    sender: str
    to: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    headers: str = ""
    attachment_info: str = ""
    attachment_names: list[dict] = field(default_factory=list)  # {"name", "type"} of the uploaded parts


def decode_text(raw: bytes, charset: str | None = None) -> str:
    """A mail field's bytes as text: in its declared charset, else UTF-8, else Windows-1251 (never fails)."""
    for codec in (charset, "utf-8"):
        if codec and len(codec) <= 40:
            try:
                return raw.decode(codec.strip().strip('"'))
            except (LookupError, UnicodeDecodeError):
                continue
    return raw.decode("cp1251", errors="replace")


def _charsets(raw: bytes) -> dict[str, str]:
    """SendGrid's `charsets` field: {"text": "windows-1251", ...}; {} when absent or unreadable."""
    try:
        value = json.loads(raw.decode("utf-8", errors="replace")) if raw.strip() else {}
    except ValueError:
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def from_parse_form(fields: Mapping[str, bytes], files: Sequence[tuple[bytes, str]] = ()) -> InboundEmail:
    """The mail in SendGrid's Inbound Parse form (field name → raw bytes; file parts as (filename bytes, type)).

    Each text field is decoded with its charset from `charsets`; a raw-MIME post (`email` field) is parsed
    as the message itself (the form's own from/to/subject only fill what the message lacks).
    """
    charsets = _charsets(fields.get("charsets", b""))

    def text(name: str) -> str:
        return decode_text(fields.get(name, b""), charsets.get(name))

    names = [{"name": decode_text(name, charsets.get("filename")), "type": kind} for name, kind in files]
    if fields.get("email", b"").strip():
        mail = from_mime(fields["email"])
        mail.sender, mail.to = mail.sender or text("from"), mail.to or text("to")
        mail.subject = mail.subject or text("subject")
        mail.attachment_names = mail.attachment_names + names
        return mail
    return InboundEmail(sender=text("from"), to=text("to"), subject=text("subject"), text=text("text"),
                        html=text("html"), headers=text("headers"), attachment_info=text("attachment-info"),
                        attachment_names=names)


def _header(message: EmailMessage, name: str) -> str:
    """A header as text: RFC 2047 words decoded; raw 8-bit bytes (no encoded words) read as UTF-8, else Windows-1251."""
    raw = next((str(v) for k, v in message.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return ""
    if any("\udc80" <= ch <= "\udcff" for ch in raw):  # bytes the parser kept undecoded (surrogateescape)
        text = decode_text(raw.encode("ascii", "surrogateescape"))
    else:
        try:
            text = str(message.get(name) or "")
        except (ValueError, TypeError, IndexError, AttributeError, HeaderParseError):  # unparseable: keep it raw
            text = raw
    return " ".join(text.split())


def _part_text(part: EmailMessage) -> str:
    """A text part's content (transfer encoding undone) in its charset; without one, UTF-8 else Windows-1251."""
    payload = part.get_payload(decode=True)
    return decode_text(payload if isinstance(payload, bytes) else b"", part.get_content_charset())


def from_mime(raw: bytes) -> InboundEmail:
    """A full MIME message (SendGrid's raw mode): sender, subject, plain text (or HTML), headers, attachment names."""
    message: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[assignment]
    body = message.get_body(preferencelist=("plain", "html"))
    text = _part_text(body) if body is not None else ""
    is_html = body is not None and body.get_content_subtype() == "html"
    attached = []
    for part in message.walk():
        if part.is_multipart() or part is body:
            continue
        name = part.get_filename()
        if name or part.get_content_disposition() == "attachment":
            attached.append({"name": _clean(str(name or "")), "type": part.get_content_type()})
    headers = "\n".join(f"{name}: {_header(message, name)}" for name in dict.fromkeys(message.keys()))
    return InboundEmail(sender=_header(message, "From"), to=_header(message, "To"),
                        subject=_header(message, "Subject"), text="" if is_html else text,
                        html=text if is_html else "", headers=headers, attachment_names=attached)


def message_id(mail: InboundEmail) -> str:
    """The Message-ID header (without <>), else a hash of the content (identical redeliveries still match)."""
    try:
        found = HeaderParser().parsestr(_clean(mail.headers)).get("Message-ID", "") or ""
    except Exception:  # noqa: BLE001 - a malformed header block is treated as absent
        found = ""
    found = "".join(str(found).split()).strip("<>")
    if found and len(found) <= 200 and found.isprintable():
        return found
    digest = hashlib.sha256("\x1f".join((mail.sender, mail.to, mail.subject, mail.text, mail.html)).encode(
        "utf-8", "replace")).hexdigest()
    return f"sha256:{digest}"


def attachments(mail: InboundEmail) -> list[dict]:
    """Attachment names and types, from `attachment-info` and the uploaded file parts."""
    found: dict[str, dict] = {}
    try:
        info = json.loads(mail.attachment_info) if mail.attachment_info else {}
    except ValueError:
        info = {}
    for item in (info.values() if isinstance(info, dict) else []):
        if isinstance(item, dict):
            name = _clean(str(item.get("filename") or item.get("name") or ""))[:255]
            if name:
                found.setdefault(name, {"name": name, "type": _clean(str(item.get("type") or ""))[:100]})
    for item in mail.attachment_names:
        name = _clean(item.get("name"))[:255]
        if name:
            found.setdefault(name, {"name": name, "type": _clean(item.get("type"))[:100]})
    return list(found.values())[:50]


def _sender(mail: InboundEmail) -> tuple[str, str]:
    name, address = email.utils.parseaddr(_clean(mail.sender))
    if not address or "@" not in address:
        raise ValidationFailed("The e-mail has no sender address.", code="invalid_sender", field="from")
    return name.strip(), address


def to_lead(mail: InboundEmail) -> tuple[LeadIn, str]:
    """The inquiry an e-mail makes: (validated lead data, the message text)."""
    name, address = _sender(mail)
    subject = _clean(mail.subject).strip()
    body = strip_quoted(_clean(mail.text) or html_to_text(_clean(mail.html)))
    text = "\n\n".join(p for p in (subject, body) if p)[:MAX_MESSAGE] or "(пустое письмо)"
    try:
        data = LeadIn(name=name[:200] or address.split("@", 1)[0][:200], email=address[:254], source="email",
                      message=text)
    except ValidationError as exc:
        raise ValidationFailed("The sender address is not a valid e-mail.", code="invalid_sender",
                               field="from") from exc
    return data, text


def receive(*, session: Session, mail: InboundEmail, actor: Actor) -> intake.IntakeResult:
    """Create or attach a lead for an inbound e-mail; a repeated Message-ID returns the first result."""
    data, text = to_lead(mail)
    mid = message_id(mail)
    inquiry = intake.Inquiry(data=data, channel="email", body=text, message_external_id=mid[:200],
                             attachments=tuple(attachments(mail)), keys=((intake.SENDGRID, mid),),
                             request_hash=intake.request_hash(data))
    return intake.process(session=session, inquiries=[inquiry], actor=actor)[0]
