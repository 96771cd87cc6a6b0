"""Media storage on the S3 API (`MEDIA_STORAGE_URL`), against moto's S3 server started on
loopback by the tests: the storage's four methods, codes, posters and pictures written by
this app read by a second process built from the environment, 404 for a missing key, and
malformed URLs refused at start, naming the variable."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto.server import ThreadedMotoServer

from config import ConfigError, load_settings
from config.media_storage import parse_media_storage_url
from payments.emulator import EmulatorServer
from tests.share_helpers import code_fetches, product_picture
from tests.shop import become_distributor, make_product
from wxdist import create_app
from wxdist.core import media_s3
from wxdist.core.extensions import db
from wxdist.core.media import storage
from wxdist.core.media_s3 import S3Storage, S3StorageError
from wxdist.models import ProductImage

ROOT = Path(__file__).resolve().parent.parent
KEY = "testing"  # moto takes any credentials

# A second app process: builds the app from the environment only, fetches a code and
# serves media keys through /media/.
WORKER = """
import hashlib, json, sys
from wxdist import create_app
from wxdist.sharing.wxacode import get_code, spec_for
app = create_app()
out = {"storage": type(app.extensions.get("wxdist_media_storage")).__name__}
with app.app_context():
    out["code"] = hashlib.sha256(get_code(spec_for(sys.argv[1]))).hexdigest()
client = app.test_client()
for key in sys.argv[2:]:
    r = client.get("/media/" + key)
    out[key] = [r.status_code, r.mimetype, hashlib.sha256(r.data).hexdigest()]
print(json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3 API server on a loopback port of its own; yields `host:port`."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture()
def bucket(s3_server: str) -> Any:
    """A fresh bucket (boto3's resource, to look inside it behind the app's back)."""
    resource = boto3.resource(
        "s3",
        endpoint_url=f"http://{s3_server}",
        region_name="ap-shanghai",
        aws_access_key_id=KEY,
        aws_secret_access_key=KEY,
    )
    made = resource.Bucket(f"wxdist-{uuid.uuid4().hex[:12]}")
    made.create(CreateBucketConfiguration={"LocationConstraint": "ap-shanghai"})
    return made


def _url(s3_server: str, bucket_name: str, prefix: str = "media") -> str:
    return f"s3://{KEY}:{KEY}@{s3_server}/{bucket_name}/{prefix}?region=ap-shanghai&secure=0"


@pytest.fixture()
def s3_app(
    app: Flask, s3_server: str, bucket: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """The suite's app with MEDIA_STORAGE_URL naming the fresh bucket (installed as
    create_app does), and a local media directory that must stay empty."""
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "local-media"))
    monkeypatch.setitem(app.config, "POSTER_RECHECK_SECONDS", 0)
    monkeypatch.setitem(app.config, "MEDIA_STORAGE_URL", _url(s3_server, bucket.name))
    media_s3.install(app)
    try:
        yield app
    finally:
        app.extensions.pop("wxdist_media_storage", None)


def _names(bucket: Any) -> list[str]:
    return sorted(obj.key for obj in bucket.objects.all())


def _local_files(root: Path) -> list[Path]:
    """Media files under `root` (the lock files of `key_lock` do not count)."""
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file() and ".locks" not in p.parts]


def test_put_get_exists_delete_round_trip_under_the_prefix(s3_server: str, bucket: Any) -> None:
    location = parse_media_storage_url(_url(s3_server, bucket.name, "shop/media"))
    assert location is not None
    store = S3Storage(location)
    key = "wxacode/ab/abc.png"
    assert store.get(key) is None and store.exists(key) is False
    store.delete(key)  # deleting what is not there is no error

    store.put(key, b"\x89PNG first")
    store.put(key, b"\x89PNG second")  # one PutObject each: the last one wins whole
    assert store.exists(key) is True
    assert store.get(key) == b"\x89PNG second"
    assert _names(bucket) == ["shop/media/wxacode/ab/abc.png"]
    assert bucket.Object("shop/media/wxacode/ab/abc.png").content_type == "image/png"

    store.delete(key)
    assert store.get(key) is None and store.exists(key) is False and _names(bucket) == []
    with pytest.raises(ValueError):
        store.get("../etc/passwd")


def test_an_unreachable_server_is_an_os_error_naming_the_object() -> None:
    url = f"s3://{KEY}:{KEY}@127.0.0.1:{_free_port()}/nowhere?secure=0"
    location = parse_media_storage_url(url)
    assert location is not None
    with pytest.raises(S3StorageError, match=r"uploads/x\.jpg") as caught:
        S3Storage(location).get("uploads/x.jpg")
    assert isinstance(caught.value, OSError)
    assert KEY not in repr(location)


def test_create_app_installs_the_storage_without_connecting(tmp_path: Path) -> None:
    """Nothing listens on the port: building the app must not notice."""
    url = f"s3://{KEY}:{KEY}@127.0.0.1:{_free_port()}/later?secure=0"
    built = create_app(
        {
            "WXDIST_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}",
            "MEDIA_STORAGE_URL": url,
        }
    )
    installed = built.extensions["wxdist_media_storage"]
    assert isinstance(installed, S3Storage) and installed._client is None
    local = create_app(
        {
            "WXDIST_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}",
            "MEDIA_STORAGE_URL": "",
        }
    )
    assert "wxdist_media_storage" not in local.extensions  # MEDIA_DIR, as before
    with pytest.raises(ConfigError, match=r"^MEDIA_STORAGE_URL must start with s3://"):
        create_app(
            {
                "WXDIST_ENV": "test",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}",
                "MEDIA_STORAGE_URL": "minio:9000/media",
            }
        )


def test_media_missing_from_the_bucket_is_a_404(s3_app: Flask, client: FlaskClient) -> None:
    with s3_app.app_context():
        storage().put("uploads/there.jpg", product_picture(40))
    there = client.get("/media/uploads/there.jpg")
    assert there.status_code == 200 and there.mimetype == "image/jpeg"
    assert there.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/media/uploads/missing.jpg").status_code == 404
    assert client.get("/media/uploads/../x.jpg").status_code == 404


def test_codes_posters_and_pictures_drawn_here_are_read_by_a_second_process(
    s3_app: Flask,
    client: FlaskClient,
    emulator: EmulatorServer,
    bucket: Any,
    tmp_path: Path,
) -> None:
    product = make_product(s3_app)
    picture = product_picture()
    with s3_app.app_context():
        storage().put("uploads/p.jpg", picture)
        image = db.session.query(ProductImage).filter_by(product_id=product["product_id"]).one()
        image.url = "/media/uploads/p.jpg"
        db.session.commit()
    headers = become_distributor(client, "s3-1")["headers"]
    params = {"product_id": product["product_id"], "channel": "moments"}
    poster = client.get("/api/v1/distributor/poster", query_string=params, headers=headers)
    assert poster.status_code == 200 and poster.mimetype == "image/jpeg", poster.get_json()
    code = client.get("/api/v1/distributor/code", query_string=params, headers=headers)
    scene = code.headers["X-Share-Scene"]
    assert code_fetches(emulator.url, scene) == 1

    names = _names(bucket)
    assert all(name.startswith("media/") for name in names)
    posters = [n for n in names if n.startswith("media/posters/")]
    codes = [n for n in names if n.startswith("media/wxacode/")]
    assert len(posters) == 1 and len(codes) == 1, names  # and the picture, scaled once
    assert _local_files(Path(s3_app.config["MEDIA_DIR"])) == []

    keys = [n.removeprefix("media/") for n in (posters[0], codes[0], "media/uploads/p.jpg")]
    keys.append("uploads/never-stored.jpg")
    other_dir = tmp_path / "second-process-media"
    env = {
        **os.environ,
        "WXDIST_ENV": "test",
        "DATABASE_URL": s3_app.config["SQLALCHEMY_DATABASE_URI"],
        "EMULATOR_URL": s3_app.config["EMULATOR_URL"],
        "MEDIA_DIR": str(other_dir),
        "MEDIA_STORAGE_URL": s3_app.config["MEDIA_STORAGE_URL"],
        "GATEWAY_TIMEOUT_SECONDS": str(s3_app.config["GATEWAY_TIMEOUT_SECONDS"]),
        "REDIS_URL": s3_app.config.get("REDIS_URL") or "",
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKER, scene, *keys],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    assert seen["storage"] == "S3Storage"
    assert seen["code"] == sha(code.data)  # read from the bucket: WeChat was not called again
    assert code_fetches(emulator.url, scene) == 1
    assert seen[keys[0]] == [200, "image/jpeg", sha(poster.data)]
    assert seen[keys[1]] == [200, "image/png", sha(code.data)]
    assert seen[keys[2]] == [200, "image/jpeg", sha(picture)]
    assert seen[keys[3]][0] == 404
    assert _local_files(other_dir) == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://k:s@cos.ap-shanghai.myqcloud.com/b-1250000000", "must start with s3://"),
        ("s3://cos.ap-shanghai.myqcloud.com/b-1250000000", "ACCESS_KEY:SECRET_KEY@"),
        ("s3://k:@minio:9000/media", "both an access key and a secret key"),
        ("s3://k:s@minio:99999/media", "bad port"),
        ("s3://k:s@minio:9000", "needs a bucket name"),
        ("s3://k:s@minio:9000/Bad_Bucket", "needs a bucket name"),
        ("s3://k:s@minio:9000/media/../up", "bad key prefix"),
        ("s3://k:s@minio:9000/media?secure=maybe", "secure must be 1 or 0"),
        ("s3://k:s@minio:9000/media?addressing=dns", "addressing must be path or virtual"),
        ("s3://k:s@minio:9000/media?region=Shang%20Hai", "bad region"),
        ("s3://k:s@minio:9000/media?bucket=other", "unknown options bucket"),
        ("s3://k:s@minio:9000/media?region=a&region=b", "gives region twice"),
    ],
)
def test_a_malformed_url_is_refused_at_start_naming_the_variable(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=r"^MEDIA_STORAGE_URL ") as caught:
        load_settings({"MEDIA_STORAGE_URL": url})
    assert problem in str(caught.value)
    assert ":s@" not in str(caught.value)  # the secret is never shown


def test_the_url_names_endpoint_bucket_prefix_region_and_addressing() -> None:
    assert load_settings({})["MEDIA_STORAGE_URL"] == ""
    raw = "s3://AKID:se%2Fcr%2Bet@oss-cn-hangzhou.aliyuncs.com/shop/m/?region=oss-cn-hangzhou&addressing=virtual"
    assert load_settings({"MEDIA_STORAGE_URL": raw})["MEDIA_STORAGE_URL"] == raw
    location = parse_media_storage_url(raw)
    assert location is not None
    assert location.endpoint_url == "https://oss-cn-hangzhou.aliyuncs.com"
    assert (location.bucket, location.prefix) == ("shop", "m/")
    assert (location.access_key, location.secret_key) == ("AKID", "se/cr+et")
    assert (location.region, location.addressing) == ("oss-cn-hangzhou", "virtual")
    minio = parse_media_storage_url("s3://k:s@127.0.0.1:9000/media?secure=0")
    assert minio is not None and minio.endpoint_url == "http://127.0.0.1:9000"
    assert (minio.prefix, minio.region, minio.addressing) == ("", "us-east-1", "path")


def test_posters_from_the_bucket_are_not_kept_in_process_memory(
    s3_app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recent-poster memo keeps local paths only: a poster read from the bucket is not
    held as bytes (10,000 remembered posters would be about a gigabyte per process)."""
    monkeypatch.setitem(s3_app.config, "POSTER_RECHECK_SECONDS", 60)
    product = make_product(s3_app)
    headers = become_distributor(client, "s3-memo")["headers"]
    params = {"product_id": product["product_id"], "channel": "moments"}
    for _ in range(3):  # drawn, then found stored twice
        poster = client.get("/api/v1/distributor/poster", query_string=params, headers=headers)
        assert poster.status_code == 200 and poster.mimetype == "image/jpeg", poster.get_json()
    remembered = s3_app.extensions.get("wxdist_recent_posters", {})
    assert [hit for _, hit in remembered.values() if hit.jpeg is not None] == []
