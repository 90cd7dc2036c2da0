"""The JSON API (FastAPI), served on the backend port under /api."""

from composite.library.backend.app import create_backend

__all__ = ["create_backend"]
