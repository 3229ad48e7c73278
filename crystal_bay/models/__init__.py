"""All SQLModel tables; importing this package registers them on SQLModel.metadata."""

from crystal_bay.models._base import Channel, Outcome, Role, StatusCategory, utcnow
from crystal_bay.models.audit import AuditEvent
from crystal_bay.models.bookings import Booking, Payment, Traveller
from crystal_bay.models.conversations import Message
from crystal_bay.models.customers import Customer
from crystal_bay.models.integrations import ApiKey, IntegrationSetting, WebhookEvent
from crystal_bay.models.leads import Lead, LeadTag, Reminder, Tag, TravelRequest
from crystal_bay.models.outbox import OutboxJob
from crystal_bay.models.pipeline import PipelineStage
from crystal_bay.models.tours import Quote, TourOffer
from crystal_bay.models.users import AuthSession, LoginAttempt, User

__all__ = [
    "ApiKey", "AuditEvent", "AuthSession", "Booking", "Channel", "Customer", "IntegrationSetting",
    "Lead", "LeadTag", "LoginAttempt", "Message", "Outcome", "OutboxJob", "Payment",
    "PipelineStage", "Quote", "Reminder", "Role", "StatusCategory", "Tag", "TourOffer", "Traveller", "TravelRequest",
    "User", "WebhookEvent", "utcnow",
]
