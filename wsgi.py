"""WSGI entry point: `gunicorn wsgi:app`."""

from wxdist import create_app

app = create_app()
