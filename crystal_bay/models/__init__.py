"""All SQLModel tables; importing this package registers them on SQLModel.metadata."""

from crystal_bay.models._base import Channel, Outcome, Role, StatusCategory, utcnow
from crystal_bay.models.ai import AIUsageDay
from crystal_bay.models.audit import AuditEvent
from crystal_bay.models.bookings import Booking, Payment, Traveller
from crystal_bay.models.bot import BotChat, BotState
from crystal_bay.models.conversations import Message
from crystal_bay.models.customers import Customer
from crystal_bay.models.integrations import ApiKey, IntegrationSetting, WebhookEvent
from crystal_bay.models.leads import Lead, LeadTag, Reminder, Tag, TravelRequest
from crystal_bay.models.outbox import OutboxJob
from crystal_bay.models.pipeline import PipelineStage
from crystal_bay.models.platform import IntegrationTestResult, PlatformSetting, ScheduledJob, SchedulerLease
from crystal_bay.models.tour_sales import BookingDetail, QuoteDocument, QuoteResponse, SamoDictionary
from crystal_bay.models.tours import Quote, TourOffer
from crystal_bay.models.users import AuthSession, LoginAttempt, User

__all__ = [
    "AIUsageDay", "ApiKey", "AuditEvent", "AuthSession", "Booking", "BotChat", "BotState", "Channel", "Customer", "IntegrationSetting",
    "IntegrationTestResult", "PlatformSetting", "ScheduledJob", "SchedulerLease",
    "Lead", "LeadTag", "LoginAttempt", "Message", "Outcome", "OutboxJob", "Payment",
    "PipelineStage", "Quote", "QuoteDocument", "QuoteResponse", "SamoDictionary", "BookingDetail", "Reminder", "Role", "StatusCategory", "Tag", "TourOffer", "Traveller", "TravelRequest",
    "User", "WebhookEvent", "utcnow",
]
