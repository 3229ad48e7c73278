"""Users, passwords, login sessions and the login rate limit."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import bcrypt
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, func, select

from crystal_bay.models import AuthSession, LoginAttempt, Role, User, utcnow
from crystal_bay.services import audit
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed
from crystal_bay.settings import get_settings

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72  # bcrypt's limit
_DUMMY_HASH = bcrypt.hashpw(b"timing-equaliser", bcrypt.gensalt()).decode()


def hash_password(password: str) -> str:
    """A bcrypt hash of the password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def verify_password(password: str, password_hash: str) -> bool:
    """True when the password matches the hash."""
    raw = password.encode()
    if len(raw) > MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(raw, password_hash.encode())


def normalize_email(email: str) -> str:
    """A syntactically valid, lower-cased e-mail address, or ValidationFailed."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed(f"Invalid e-mail address: {exc}", field="email") from exc


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short or longer than bcrypt can hash."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValidationFailed(f"The password must be at most {MAX_PASSWORD_BYTES} bytes.", field="password")


def create_user(
    *, session: Session, email: str, name: str, role: str, password: str, actor: Actor
) -> User:
    """Create a user with a hashed password; e-mails are unique."""
    email = normalize_email(email)
    name = name.strip()
    if not name:
        raise ValidationFailed("A name is required.", field="name")
    if role not in {r.value for r in Role}:
        raise ValidationFailed(f"Unknown role {role!r}: use admin or manager.", field="role")
    check_password_strength(password)
    if session.exec(select(User).where(User.email == email)).first():
        raise ValidationFailed(f"A user with e-mail {email} already exists.", code="duplicate", field="email")
    user = User(email=email, name=name[:200], role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor, entity_type="user", entity_id=user.id, action="created",
                 data={"email": email, "role": role})
    return user


def get_user(*, session: Session, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.", field="user_id")
    return user


def ensure_first_admin(
    *, session: Session, email: str | None = None, password: str | None = None
) -> tuple[User | None, str | None]:
    """Create the first admin when there is none; returns (user, generated_password or None)."""
    if session.exec(select(User).where(User.role == Role.admin.value)).first():
        return None, None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    user = create_user(
        session=session, email=email or "admin@crystalbay.kz", name="Администратор",
        role=Role.admin.value, password=password, actor=Actor.system("bootstrap"),
    )
    return user, generated


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: error is None on success, else a code."""

    error: str | None = None
    user: User | None = None
    token: str | None = None
    expires_at: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _recent_failures(session: Session, *, column, value: str, since: dt.datetime) -> int:
    stmt = select(func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.at >= since, col(LoginAttempt.success).is_(False)
    )
    return session.exec(stmt).one()


def authenticate(*, session: Session, email: str, password: str, client_ip: str) -> LoginResult:
    """Check a login (rate limited per account and per client); opens a session on success.

    Every attempt is recorded in the session, so callers commit whatever the result.
    Error codes: rate_limited, invalid_credentials, inactive.
    """
    settings = get_settings()
    email_key = (email or "").strip().lower()[:254]
    client_ip = (client_ip or "unknown")[:64]
    since = utcnow() - dt.timedelta(minutes=settings.login_window_minutes)
    if (
        _recent_failures(session, column=LoginAttempt.email, value=email_key, since=since)
        >= settings.login_max_failures_per_account
        or _recent_failures(session, column=LoginAttempt.client_ip, value=client_ip, since=since)
        >= settings.login_max_failures_per_client
    ):
        return LoginResult(error="rate_limited")
    user = session.exec(select(User).where(User.email == email_key)).first()
    password_ok = verify_password(password or "", user.password_hash if user else _DUMMY_HASH)
    if user is None or not password_ok:
        session.add(LoginAttempt(email=email_key, client_ip=client_ip, success=False))
        return LoginResult(error="invalid_credentials")
    if not user.is_active:
        session.add(LoginAttempt(email=email_key, client_ip=client_ip, success=False))
        return LoginResult(error="inactive")
    session.add(LoginAttempt(email=email_key, client_ip=client_ip, success=True))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + dt.timedelta(hours=settings.session_ttl_hours)
    session.add(AuthSession(token_hash=_token_hash(token), user_id=user.id, created_at=now, expires_at=expires_at,
                            client_ip=client_ip))
    user.last_login_at = now
    session.add(user)
    audit.record(session=session, actor=Actor.for_user(user), entity_type="user", entity_id=user.id,
                 action="logged_in", data={"client_ip": client_ip})
    return LoginResult(user=user, token=token, expires_at=expires_at)


def user_for_token(*, session: Session, token: str | None) -> User | None:
    """The active user of a live session token, or None (expired, revoked, deactivated, unknown)."""
    if not token:
        return None
    stmt = (
        select(User)
        .join(AuthSession, col(AuthSession.user_id) == col(User.id))
        .where(
            AuthSession.token_hash == _token_hash(token),
            col(AuthSession.revoked_at).is_(None),
            AuthSession.expires_at > utcnow(),
            col(User.is_active).is_(True),
        )
    )
    return session.exec(stmt).first()


def logout(*, session: Session, token: str | None) -> None:
    """End the session of this token (a no-op for unknown tokens)."""
    if not token:
        return
    auth = session.exec(select(AuthSession).where(AuthSession.token_hash == _token_hash(token))).first()
    if auth and auth.revoked_at is None:
        auth.revoked_at = utcnow()
        session.add(auth)


def set_language(*, session: Session, user_id: int, language: str) -> None:
    """Remember the user's interface language (ru or en)."""
    if language not in ("ru", "en"):
        raise ValidationFailed("Language must be ru or en.", field="language")
    user = get_user(session=session, user_id=user_id)
    user.language = language
    session.add(user)


def list_users(*, session: Session) -> list[User]:
    """All users, admins first, then by name."""
    return list(session.exec(select(User).order_by(col(User.role), col(User.name))))
