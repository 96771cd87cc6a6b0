"""Schemathesis against the served OpenAPI document, with every check: as a shopper and as
a distributor, no request the document allows (or forbids) gets a 5xx or an answer the
document does not describe (status, content type, headers, body schema, 405 with Allow,
positive data accepted, negative data rejected, auth enforced).

The run is the real CLI (`schemathesis run --checks all`) in a subprocess against the app
served over HTTP by the test session (`app.config["LIVE_URL"]`), seeded and bounded so it
is reproducible and takes a few minutes at most on two cores. Schemathesis is a pinned test
requirement: if it is missing, this module fails at import, it does not skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import schemathesis  # noqa: F401  (a missing schemathesis fails here, loudly)
from flask import Flask
from flask.testing import FlaskClient

from tests.shop import become_distributor, login, make_product

SEED = 20261202
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_MAX_EXAMPLES", "20"))
RUN_TIMEOUT = 600  # seconds for one role's run; a hang fails instead of stalling CI


# A picture upload is valid by its content, which no schema can describe: bytes generated
# from the document are rightly refused with a 400 naming `picture`. For that one operation
# "schema-valid data is accepted" also takes a 400 (its refusals have their own tests in
# test_aftersales_api and test_product_pictures); every check still runs on it. The same
# holds for the one-time values WeChat or the server issued: a getPhoneNumber code and an
# account deletion's confirmation (refused with 400 naming `code` / `confirm`; their tests
# are test_phone and test_account_deletion).
CONFIG = """
[[operations]]
include-path = "/aftersales/pictures"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"
]

[[operations]]
include-path = "/me/phone"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"
]

[[operations]]
include-path = "/me/deletion"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"
]
"""


def _schemathesis(base_url: str, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    config = report.parent / "fuzz.toml"
    config.write_text(CONFIG)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--generation-deterministic",  # implies no example database
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--header",
        f"Authorization: Bearer {token}",
        "--request-timeout",
        "30",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
        "--output-truncate",
        "false",
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=report.parent,  # no schemathesis.toml of ours to pick up; reports stay in tmp
        # The run is what this file says: no SCHEMATHESIS_* settings (hooks, base URL, ...)
        # of the machine running the suite.
        env={k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")},
    )


def _assert_clean(
    result: subprocess.CompletedProcess[str], report: Path, role: str, operations: set[str]
) -> None:
    """Exit 0 (no check failed), and the run really ran: every phase that generates cases
    passed, and every documented operation was fuzzed."""
    assert report.exists(), result.stdout[-4000:] + result.stderr[-4000:]
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    assert result.returncode == 0, (
        f"schemathesis found problems as the {role}:\n{result.stdout[-20000:]}\n{result.stderr}"
    )
    phases = {
        e["PhaseFinished"]["phase"]["name"]: e["PhaseFinished"]["status"]
        for e in events
        if "PhaseFinished" in e
    }
    for phase in ("coverage", "fuzzing", "stateful"):
        assert phases.get(phase) == "success", (role, phases)
    fuzzed = {
        e["ScenarioFinished"]["recorder"]["label"]
        for e in events
        if "ScenarioFinished" in e
        and e["ScenarioFinished"]["phase"] == "fuzzing"
        and e["ScenarioFinished"]["status"] == "success"
    }
    assert fuzzed == operations, (role, operations ^ fuzzed)
    (finished,) = (e["EngineFinished"] for e in events if "EngineFinished" in e)
    assert finished["stop_reason"] == "completed", (role, finished)


def test_the_served_document_holds_under_schemathesis(
    client: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    make_product(app, stock=10_000, title="模糊测试商品", category="坚果")
    make_product(app, stock=10_000, skus=2)
    shopper = login(client, "fuzz-shopper")["Authorization"].removeprefix("Bearer ")
    distributor = become_distributor(client, "fuzz-distributor")["headers"]["Authorization"]
    base_url = app.config["LIVE_URL"]
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = {
        f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops
    }
    assert len(operations) >= 27
    for role, token in (("shopper", shopper), ("distributor", distributor.removeprefix("Bearer "))):
        report = tmp_path / role / "events.ndjson"
        report.parent.mkdir()
        result = _schemathesis(base_url, token, report)
        _assert_clean(result, report, role, operations)
