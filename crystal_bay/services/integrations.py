"""Integration settings: environment or database (encrypted), validated, audited, tested live.

Each field's value comes from the environment (Settings) if set there, else from the database
(`integration_settings`, Fernet-encrypted with a key derived from SECRET_KEY), else the schema's
default. The views this module returns carry secrets only masked (`••••` + last 4); plaintext
leaves it only inside a validated config handed to an integration's client.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError
from sqlmodel import Session, col, delete, select

from crystal_bay.integrations import registry
from crystal_bay.integrations.base import IntegrationError, IntegrationSpec, SchemaField, schema_fields
from crystal_bay.models import IntegrationSetting, IntegrationTestResult, PlatformSetting, utcnow
from crystal_bay.services import audit, crypto
from crystal_bay.services.audit import Actor
from crystal_bay.services.errors import NotFound, ValidationFailed
from crystal_bay.settings import get_settings

log = logging.getLogger(__name__)
HISTORY_KEEP = 20
DEMO_KEY = "demo_mode"


class SettingsInvalid(ValidationFailed):
    """The submitted settings do not validate.

    `errors` maps each field to a plain English message; `codes` maps it to (code, params) for the
    panel's translations (i18n key `settings.err.<code>`).
    """

    def __init__(self, errors: dict[str, str], codes: dict[str, tuple[str, dict]] | None = None):
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1]}" if first[0] else first[1], code="settings_invalid",
                         field=first[0] or None)
        self.errors = errors
        self.codes = codes or {}


@dataclass(frozen=True)
class FieldView:
    """A field as the panel shows it; `display` is masked for secrets."""

    field: SchemaField
    source: str  # env | database | default | unset
    display: str
    unreadable: bool = False


@dataclass(frozen=True)
class TestView:
    ok: bool
    latency_ms: int | None
    message: str
    detail: str
    tested_at: Any
    code: str = ""
    params: dict = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class IntegrationView:
    spec: IntegrationSpec
    fields: list[FieldView]
    configured: bool
    problem: str  # why the effective config does not validate ('' when configured or coming soon)
    history: list[TestView]
    last_success_at: Any

    @property
    def last(self) -> TestView | None:
        return self.history[0] if self.history else None


def get_spec(slug: str) -> IntegrationSpec:
    spec = registry.get_spec(slug)
    if spec is None:
        raise NotFound(f"There is no integration {slug!r}.", field="integration")
    return spec


def _env_value(field: SchemaField) -> str | None:
    if not field.env:
        return None
    settings = get_settings()
    if field.env not in settings.model_fields_set:
        return None
    value = getattr(settings, field.env, None)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return None if value is None or value == "" else str(value)


def _text(value: Any) -> str:
    """A plain value as the panel shows it (30.0 → "30")."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _stored(session: Session, slug: str) -> dict[str, IntegrationSetting]:
    rows = session.exec(select(IntegrationSetting).where(IntegrationSetting.integration == slug))
    return {row.key: row for row in rows}


def _effective(session: Session, spec: IntegrationSpec) -> tuple[dict[str, Any], list[FieldView]]:
    """The raw effective values (plaintext) and how each field is shown."""
    values: dict[str, Any] = {}
    views: list[FieldView] = []
    stored = _stored(session, spec.slug)
    for field in schema_fields(spec.schema) if spec.schema else []:
        env, row, unreadable = _env_value(field), stored.get(field.name), False
        if env is not None:
            value, source = env, "env"
        elif row is not None:
            try:
                value, source = json.loads(crypto.decrypt(row.value_encrypted)), "database"
            except crypto.SecretUnreadable:
                value, source, unreadable = None, "database", True
        elif not field.required:
            value, source = field.default, "default"
        else:
            value, source = None, "unset"
        if value is not None:
            values[field.name] = value
        shown = "" if value is None else (crypto.mask(str(value)) if field.secret else _text(value))
        views.append(FieldView(field=field, source=source, display=shown, unreadable=unreadable))
    return values, views


_MESSAGES = {
    "missing": "This field is required.",
    "url_parsing": "Not a valid URL (e.g. https://api.example.com/v1).",
    "url_scheme": "The URL must start with http:// or https://.",
    "int_parsing": "Enter a whole number.",
    "float_parsing": "Enter a number.",
    "bool_parsing": "Enter yes or no.",
    "string_pattern_mismatch": "Contains characters that are not allowed here.",
    "extra_forbidden": "This setting does not exist.",
    "too_short": "Too short: at least {min_length} characters.",
    "too_long": "Too long: at most {max_length} characters.",
    "min": "Must be at least {limit}.",
    "max": "Must be at most {limit}.",
    "choice": "Choose one of: {expected}.",
    "invalid": "Invalid value.",
    "env_owned": "Set in the environment ({env}): change it there.",
    "unreadable": "Cannot be decrypted (SECRET_KEY changed): enter it again.",
}
_ALIASES = {"string_too_short": "too_short", "string_too_long": "too_long", "greater_than_equal": "min",
            "greater_than": "min", "less_than_equal": "max", "less_than": "max", "literal_error": "choice"}


def _invalid(codes: dict[str, tuple[str, dict]]) -> SettingsInvalid:
    """SettingsInvalid from field → (code, params)."""
    return SettingsInvalid({name: _MESSAGES[code].format(**params) for name, (code, params) in codes.items()}, codes)


def _error_codes(exc: ValidationError, name: str | None = None) -> dict[str, tuple[str, dict]]:
    """Field → (code, params), from the error type only (never echoing the input: it may be a secret)."""
    codes: dict[str, tuple[str, dict]] = {}
    for err in exc.errors(include_input=False, include_url=False):
        field_name = name or (str(err["loc"][0]) if err["loc"] else "")
        ctx = err.get("ctx") or {}
        code = _ALIASES.get(err["type"], err["type"])
        params = {"min_length": ctx.get("min_length"), "max_length": ctx.get("max_length"),
                  "limit": ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt")))),
                  "expected": ctx.get("expected")}
        if code not in _MESSAGES:
            code = "invalid"
        params = {k: (f"{v:g}" if isinstance(v, float) else v) for k, v in params.items() if v is not None}
        codes.setdefault(field_name, (code, params))
    return codes


def _plain_errors(exc: ValidationError) -> SettingsInvalid:
    return _invalid(_error_codes(exc))


def _field_value(spec: IntegrationSpec, name: str, raw: Any) -> Any:
    """One field's value validated against its schema field alone, as JSON (secrets in plaintext)."""
    info = spec.schema.model_fields[name]  # type: ignore[union-attr]
    adapter = TypeAdapter(Annotated[info.annotation, info])
    try:
        value = adapter.validate_python(raw)
    except ValidationError as exc:
        raise _invalid(_error_codes(exc, name)) from None
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return adapter.dump_python(value, mode="json")


def _validate(spec: IntegrationSpec, values: dict[str, Any]) -> BaseModel:
    try:
        return spec.schema.model_validate(values)  # type: ignore[union-attr]
    except ValidationError as exc:
        raise _plain_errors(exc) from None


def load_config(*, session: Session, slug: str) -> BaseModel:
    """The validated effective config of an integration; SettingsInvalid says what is missing or wrong."""
    spec = get_spec(slug)
    if spec.schema is None:
        raise ValidationFailed(f"{spec.title_en} is not available yet.", code="coming_soon", field="integration")
    values, views = _effective(session, spec)
    unreadable = {v.field.name: ("unreadable", {}) for v in views if v.unreadable}
    if unreadable:
        raise _invalid(unreadable)
    return _validate(spec, values)


def effective_value(*, session: Session, slug: str, field: str) -> Any:
    """One field's effective value (environment, else the stored value, else its default) without validating
    the rest of the card: a webhook that only needs its secret keeps working while another field is wrong."""
    spec = get_spec(slug)
    if spec.schema is None:
        raise ValidationFailed(f"{spec.title_en} is not available yet.", code="coming_soon", field="integration")
    values, _views = _effective(session, spec)
    return values.get(field)


def _history(session: Session, slug: str, limit: int = HISTORY_KEEP) -> list[TestView]:
    stmt = (select(IntegrationTestResult).where(IntegrationTestResult.integration == slug)
            .order_by(col(IntegrationTestResult.tested_at).desc(), col(IntegrationTestResult.id).desc()).limit(limit))
    return [TestView(ok=r.ok, latency_ms=r.latency_ms, message=r.message, detail=r.detail, tested_at=r.tested_at,
                     code=r.code, params=dict(r.params or {})) for r in session.exec(stmt)]


def _last_success(session: Session, slug: str):
    stmt = (select(IntegrationTestResult.tested_at)
            .where(IntegrationTestResult.integration == slug, col(IntegrationTestResult.ok).is_(True))
            .order_by(col(IntegrationTestResult.tested_at).desc()).limit(1))
    return session.exec(stmt).first()


def integration_view(*, session: Session, slug: str) -> IntegrationView:
    """One card: fields with their source and masked values, whether it is configured, test history."""
    spec = get_spec(slug)
    values, views = _effective(session, spec)
    problem = ""
    if spec.schema is not None:
        try:
            load_config(session=session, slug=slug)
        except SettingsInvalid as exc:
            problem = "; ".join(f"{name}: {text}" if name else text for name, text in exc.errors.items())
    return IntegrationView(spec=spec, fields=views, configured=spec.schema is not None and not problem,
                           problem=problem, history=_history(session, slug), last_success_at=_last_success(session, slug))


def list_integrations(*, session: Session) -> list[IntegrationView]:
    """Every registry entry as a card, in registry order (coming-soon entries included)."""
    return [integration_view(session=session, slug=spec.slug) for spec in registry.all_specs()]


def _submitted(spec: IntegrationSpec, views: list[FieldView], values: dict[str, Any],
               clear: set[str]) -> tuple[dict[str, Any], set[str]]:
    """The fields the admin changes (name → raw value) and those to clear; refuses env-owned fields."""
    by_name = {v.field.name: v for v in views}
    unknown = (set(values) | clear) - set(by_name)
    if unknown:
        raise _invalid({name: ("extra_forbidden", {}) for name in sorted(unknown)})
    changes: dict[str, Any] = {}
    errors: dict[str, tuple[str, dict]] = {}
    for name, raw in values.items():
        view = by_name[name]
        text = raw.strip() if isinstance(raw, str) else raw
        if view.field.secret and text in ("", None):
            continue  # an empty secret box keeps the stored secret
        if view.source == "env":
            if text not in ("", None) and str(text) != str(_env_value(view.field)):
                errors[name] = ("env_owned", {"env": view.field.env_var})
            continue
        if text in ("", None):
            clear.add(name)
        else:
            changes[name] = text
    for name in clear:
        if by_name[name].source == "env":
            errors[name] = ("env_owned", {"env": by_name[name].field.env_var})
    if errors:
        raise _invalid(errors)
    return changes, clear


def save_settings(
    *, session: Session, slug: str, values: dict[str, Any], actor: Actor, clear: Iterable[str] = (),
) -> IntegrationView:
    """Validate and store an integration's settings (encrypted); audits which fields changed, never values.

    Each value is checked against its schema field (type, URL shape, limits); required fields go
    together — all set (then the whole schema is validated) or none (the integration is not
    configured). An empty secret keeps the stored one; an empty plain field (or a name in `clear`)
    goes back to the default. Fields set in the environment cannot be changed here.
    """
    spec = get_spec(slug)
    if spec.schema is None:
        raise ValidationFailed(f"{spec.title_en} is not available yet.", code="coming_soon", field="integration")
    current, views = _effective(session, spec)
    changes, cleared = _submitted(spec, views, values, set(clear))
    normalized, codes = {}, {}
    defaults = {v.field.name: v.field.default for v in views if not v.field.required}
    for name, raw in changes.items():
        try:
            normalized[name] = _field_value(spec, name, raw)
        except SettingsInvalid as exc:
            codes |= exc.codes
    if codes:
        raise _invalid(codes)
    for name, value in list(normalized.items()):  # the default value is not stored: the field stays "default"
        if name in defaults and defaults[name] is not None and value == _field_value(spec, name, defaults[name]):
            del normalized[name]
            cleared.add(name)
    candidate = {k: v for k, v in current.items() if k not in cleared} | normalized
    required = [v.field.name for v in views if v.field.required]
    missing = [name for name in required if candidate.get(name) in (None, "")]
    if missing and len(missing) < len(required):  # required fields go together: all or none (not configured)
        raise _invalid({name: ("missing", {}) for name in missing})
    if not missing:
        _validate(spec, candidate)  # the whole schema, with its cross-field rules
    stored = _stored(session, slug)
    secret_names = {v.field.name for v in views if v.field.secret}
    changed: list[str] = []
    for name, new_value in normalized.items():
        row = stored.get(name)
        if row is not None and name not in cleared:
            try:
                if json.loads(crypto.decrypt(row.value_encrypted)) == new_value:
                    continue
            except crypto.SecretUnreadable:
                pass
        row = row or IntegrationSetting(integration=slug, key=name, value_encrypted="")
        row.value_encrypted = crypto.encrypt(json.dumps(new_value))
        row.is_secret = name in secret_names
        row.updated_at = utcnow()
        row.updated_by_id = actor.id if actor.type == "user" else None
        session.add(row)
        changed.append(name)
    removed = sorted(name for name in cleared if name in stored)
    for name in removed:
        session.delete(stored[name])
    if changed or removed:
        session.flush()
        audit.record(session=session, actor=actor, entity_type="integration", entity_id=None,
                     action="settings_changed", data={"integration": slug, "changed": sorted(changed),
                                                      "cleared": removed})
    return integration_view(session=session, slug=slug)


def _secrets_of(session: Session, spec: IntegrationSpec) -> list[str]:
    values, views = _effective(session, spec)
    return [str(values[v.field.name]) for v in views if v.field.secret and values.get(v.field.name)]


async def run_test(*, session: Session, slug: str, actor: Actor) -> TestView:
    """Run the integration's live connection test with the effective config; keep the last 20 results."""
    spec = get_spec(slug)
    if spec.schema is None or spec.test_connection is None:
        raise ValidationFailed(f"{spec.title_en} is not available yet.", code="coming_soon", field="integration")
    code, params = "", {}
    try:
        config = load_config(session=session, slug=slug)
    except SettingsInvalid as exc:
        problems = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        ok, latency, message, detail = False, None, "Not configured: fill in the settings first.", problems
        code, params = "not_configured", {"fields": ", ".join(exc.errors)}
    else:
        try:
            result = await spec.test_connection(config)
            ok, latency, message, detail = result.ok, result.latency_ms, result.message, result.detail
            code, params = result.code, dict(result.params)
        except IntegrationError as exc:
            ok, latency, message, detail = False, None, exc.message, exc.detail
        except Exception as exc:  # noqa: BLE001 - a failing test is a result, never a crash
            ok, latency, message, detail = False, None, "The test failed unexpectedly.", f"{type(exc).__name__}: {exc}"
            code = "unexpected"
    secrets = _secrets_of(session, spec)
    message, detail = crypto.redact(message, secrets)[:500], crypto.redact(detail, secrets)[:4000]
    params = {k: crypto.redact(str(v), secrets)[:300] for k, v in params.items()}
    row = IntegrationTestResult(integration=slug, ok=ok, latency_ms=latency, message=message, detail=detail,
                                code=code[:50], params=params, tested_by_id=actor.id if actor.type == "user" else None)
    session.add(row)
    session.flush()
    keep = select(IntegrationTestResult.id).where(IntegrationTestResult.integration == slug).order_by(
        col(IntegrationTestResult.tested_at).desc(), col(IntegrationTestResult.id).desc()).limit(HISTORY_KEEP)
    session.exec(delete(IntegrationTestResult).where(IntegrationTestResult.integration == slug,
                                                     col(IntegrationTestResult.id).not_in(keep.scalar_subquery())))
    audit.record(session=session, actor=actor, entity_type="integration", entity_id=None, action="connection_tested",
                 data={"integration": slug, "ok": ok, "latency_ms": latency})
    log.info("integration %s connection test: %s (%s ms)", slug, "ok" if ok else "failed", latency)
    return TestView(ok=ok, latency_ms=latency, message=message, detail=detail, tested_at=row.tested_at, code=code,
                    params=params)


# --- demo mode ---


@dataclass(frozen=True)
class DemoMode:
    enabled: bool
    source: str  # env | database | default
    secret_key_set: bool


def demo_mode(*, session: Session) -> DemoMode:
    """Whether demo mode is on, and where that comes from (CRYSTAL_BAY_DEMO in the environment wins)."""
    settings = get_settings()
    key_set = not crypto.uses_demo_key()
    if settings.crystal_bay_demo is not None:
        return DemoMode(enabled=settings.crystal_bay_demo, source="env", secret_key_set=key_set)
    row = session.get(PlatformSetting, DEMO_KEY)
    if row is not None and "enabled" in row.value:
        return DemoMode(enabled=bool(row.value["enabled"]), source="database", secret_key_set=key_set)
    return DemoMode(enabled=settings.demo, source="default", secret_key_set=key_set)


def effective_demo(session: Session) -> bool:
    """True when the app runs in demo mode (environment, else the panel's switch, else the default rule)."""
    return demo_mode(session=session).enabled


def set_demo_mode(*, session: Session, enabled: bool, actor: Actor) -> DemoMode:
    """Turn demo mode on or off from the panel; refused when CRYSTAL_BAY_DEMO is set in the environment."""
    current = demo_mode(session=session)
    if current.source == "env":
        raise ValidationFailed("Demo mode is set by CRYSTAL_BAY_DEMO in the environment: change it there.",
                               code="demo_locked", field="demo")
    if not enabled and not current.secret_key_set:
        raise ValidationFailed("Set SECRET_KEY in the environment before leaving demo mode.",
                               code="secret_key_required", field="demo")
    row = session.get(PlatformSetting, DEMO_KEY) or PlatformSetting(key=DEMO_KEY)
    row.value = {"enabled": bool(enabled)}
    row.updated_at = utcnow()
    row.updated_by_id = actor.id if actor.type == "user" else None
    session.add(row)
    session.flush()
    if enabled != current.enabled:
        audit.record(session=session, actor=actor, entity_type="platform", entity_id=None, action="demo_mode_changed",
                     data={"enabled": bool(enabled)})
    return demo_mode(session=session)
