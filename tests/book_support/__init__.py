"""Helpers for the book tests (HTML scanning, a tiny static server, a CDP client)."""
