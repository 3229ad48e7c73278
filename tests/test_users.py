"""Users and login on SQLite and PostgreSQL: hashing, sessions, expiry, rate limits, first admin."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from crystal_bay.models import AuthSession, User
from crystal_bay.services import users
from crystal_bay.services.errors import ValidationFailed
from tests.factories import SYSTEM, make_user


def test_password_is_stored_as_bcrypt_hash(session):
    user = make_user(session, password="s3cret-pass")
    assert "s3cret-pass" not in user.password_hash
    assert user.password_hash.startswith("$2")
    assert users.verify_password("s3cret-pass", user.password_hash)
    assert not users.verify_password("wrong-pass", user.password_hash)


@pytest.mark.parametrize(
    ("email", "name", "role", "password", "field"),
    [
        ("not-an-email", "Анна", "manager", "long-enough", "email"),
        ("a@crystalbay.kz", "", "manager", "long-enough", "name"),
        ("a@crystalbay.kz", "Анна", "owner", "long-enough", "role"),
        ("a@crystalbay.kz", "Анна", "manager", "short", "password"),
        ("a@crystalbay.kz", "Анна", "manager", "x" * 100, "password"),
    ],
)
def test_bad_user_input_is_refused(session, email, name, role, password, field):
    with pytest.raises(ValidationFailed) as err:
        users.create_user(session=session, email=email, name=name, role=role, password=password, actor=SYSTEM)
    assert err.value.field == field
    assert session.exec(select(User)).first() is None


def test_emails_are_unique_case_insensitively(session):
    make_user(session, email="Anna@CrystalBay.kz")
    with pytest.raises(ValidationFailed) as err:
        make_user(session, email="anna@crystalbay.kz")
    assert err.value.code == "duplicate"


def test_login_logout_and_token_lookup(session):
    user = make_user(session, email="olga@crystalbay.kz", password="olga-password")
    result = users.authenticate(session=session, email=" OLGA@crystalbay.kz ", password="olga-password",
                                client_ip="10.0.0.1")
    assert result.ok and result.user.id == user.id
    assert users.user_for_token(session=session, token=result.token).id == user.id
    # the token itself is never stored
    stored = session.exec(select(AuthSession)).all()
    assert len(stored) == 1 and stored[0].token_hash != result.token
    users.logout(session=session, token=result.token)
    assert users.user_for_token(session=session, token=result.token) is None


def test_wrong_password_and_unknown_user_look_the_same(session):
    make_user(session, email="ivan@crystalbay.kz", password="ivan-password")
    wrong = users.authenticate(session=session, email="ivan@crystalbay.kz", password="nope-nope", client_ip="c")
    unknown = users.authenticate(session=session, email="nobody@crystalbay.kz", password="nope-nope", client_ip="c")
    assert wrong.error == unknown.error == "invalid_credentials"
    assert wrong.token is None


def test_sessions_expire(session):
    user = make_user(session, password="pw-12345678")
    result = users.authenticate(session=session, email=user.email, password="pw-12345678", client_ip="c")
    auth = session.exec(select(AuthSession)).one()
    assert auth.expires_at - auth.created_at == dt.timedelta(hours=12)
    auth.expires_at = auth.created_at - dt.timedelta(seconds=1)
    session.add(auth)
    session.flush()
    assert users.user_for_token(session=session, token=result.token) is None


def test_deactivated_user_loses_sessions_and_cannot_log_in(session):
    user = make_user(session, password="pw-12345678")
    result = users.authenticate(session=session, email=user.email, password="pw-12345678", client_ip="c")
    user.is_active = False
    session.add(user)
    session.flush()
    assert users.user_for_token(session=session, token=result.token) is None
    again = users.authenticate(session=session, email=user.email, password="pw-12345678", client_ip="c")
    assert again.error == "inactive"


def test_failed_logins_are_rate_limited_per_account(session):
    user = make_user(session, password="right-password")
    for i in range(5):
        r = users.authenticate(session=session, email=user.email, password="bad-password", client_ip=f"ip{i}")
        assert r.error == "invalid_credentials"
    # even the right password is refused while the account is locked, from any client
    locked = users.authenticate(session=session, email=user.email, password="right-password", client_ip="other")
    assert locked.error == "rate_limited"
    # another account is not affected
    other = make_user(session, password="other-password")
    assert users.authenticate(session=session, email=other.email, password="other-password", client_ip="x").ok


def test_failed_logins_are_rate_limited_per_client(session):
    user = make_user(session, password="right-password")
    for i in range(20):
        users.authenticate(session=session, email=f"guess{i}@crystalbay.kz", password="x" * 9, client_ip="6.6.6.6")
    refused = users.authenticate(session=session, email=user.email, password="right-password", client_ip="6.6.6.6")
    assert refused.error == "rate_limited"
    assert users.authenticate(session=session, email=user.email, password="right-password", client_ip="1.1.1.1").ok


def test_first_admin_is_created_once(session):
    admin, generated = users.ensure_first_admin(session=session)
    assert admin.role == "admin" and generated and len(generated) >= 12
    assert users.authenticate(session=session, email=admin.email, password=generated, client_ip="c").ok
    assert users.ensure_first_admin(session=session) == (None, None)


def test_first_admin_from_given_credentials(session):
    admin, generated = users.ensure_first_admin(session=session, email="boss@crystalbay.kz", password="boss-password")
    assert generated is None and admin.email == "boss@crystalbay.kz"
