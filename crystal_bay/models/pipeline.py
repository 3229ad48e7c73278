"""The lead pipeline as data: ordered stages, each in one status category."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

from crystal_bay.models._base import StatusCategory


class PipelineStage(SQLModel, table=True):
    __tablename__ = "pipeline_stages"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=50, unique=True)
    name_ru: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    position: int = Field(index=True)
    category: str = Field(default=StatusCategory.new.value, max_length=20)
    bitrix_stage_id: str | None = Field(default=None, max_length=50)
    is_active: bool = True
