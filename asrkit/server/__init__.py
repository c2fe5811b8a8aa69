"""Streaming recognition server: ``asrkit serve`` (app.py) and its browser page (page.html)."""
