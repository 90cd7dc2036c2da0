"""The website (Flask), served on the frontend port through a2wsgi."""

from composite.library.frontend.app import create_frontend

__all__ = ["create_frontend"]
