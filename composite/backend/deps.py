"""Dependencies shared by the API routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from composite.config import Settings
from composite.db import Database


def get_db(request: Request) -> Database:
    """The process's shared database."""
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    """The process's settings."""
    return request.app.state.settings


DatabaseDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
