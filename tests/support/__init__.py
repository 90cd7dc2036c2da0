"""Helpers the tests share: the real server process, nginx, clients, forms."""
