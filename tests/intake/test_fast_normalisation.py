"""The fast phone and e-mail paths give exactly the answers of customers.normalize_phone / normalize_email."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crystal_bay.services import customers
from crystal_bay.services.errors import ValidationFailed
from crystal_bay.services.intake_schemas import fast_email, fast_kz_phone


def slow_phone(value: str) -> str | None:
    try:
        return customers.normalize_phone(value)
    except ValidationFailed:
        return None


def slow_email(value: str) -> str | None:
    try:
        return customers.normalize_email(value)
    except ValidationFailed:
        return None


digits = st.text(alphabet="0123456789", min_size=9, max_size=12)
separators = st.sampled_from(["", " ", "-", "(", ")", ".", "  "])


@st.composite
def phone_spellings(draw) -> str:
    number = draw(st.one_of(digits, st.from_regex(r"\A[0-9]{10}\Z"), st.from_regex(r"\A7[0-9]{9}\Z")))
    prefix = draw(st.sampled_from(["", "+", "+7", "8", "7", "+8", "8 (", "+7 ("]))
    parts, i = [], 0
    while i < len(number):
        step = draw(st.integers(min_value=1, max_value=4))
        parts.append(number[i:i + step])
        i += step
    return prefix + "".join(p + draw(separators) for p in parts).strip()


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(value=phone_spellings())
def test_fast_phone_agrees_with_the_full_parse(value):
    fast = fast_kz_phone(value)
    assert fast is None or fast == slow_phone(value), value


def test_fast_phone_covers_the_usual_spellings():
    for value in ["8 701 123 45 67", "+7 (701) 123-45-67", "77011234567", "7011234567", "+79161234567"]:
        assert fast_kz_phone(value) == slow_phone(value) is not None
    assert fast_kz_phone("8(916)123-45-67") is None and slow_phone("8(916)123-45-67") == "+79161234567"


atext = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-.",
                min_size=1, max_size=70)
domains = st.sampled_from(["mail.ru", "GMAIL.com", "example.kz", "xn--80ak6aa92e.com", "a.b", "localhost", "x.test",
                           "bad..kz", "-bad.kz", "ok-domain.kz", "1.2.3.4", "[127.0.0.1]", "крым.рф", "a" * 70 + ".kz"])


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(local=atext, domain=domains)
def test_fast_email_agrees_with_email_validator(local, domain):
    value = f"{local}@{domain}"
    fast = fast_email(value)
    assert fast is None or fast == slow_email(value), value
