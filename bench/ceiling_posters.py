"""The ceiling for bench/posters.py: a bare Flask endpoint answering the same poster JPEG
from memory (no auth, no database, no storage), under the same gunicorn settings."""

from __future__ import annotations

import os

from flask import Flask, Response

with open(os.environ["BENCH_POSTER_FILE"], "rb") as fh:
    POSTER = fh.read()

app = Flask(__name__)


@app.get("/poster")
def poster() -> Response:
    return Response(POSTER, mimetype="image/jpeg")
