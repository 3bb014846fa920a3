"""Fixtures: a catalog on local folders, and one on the local S3 and Azure servers."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _setting(name: str, default: str) -> str:
    if name in os.environ:
        return os.environ[name]
    env = Path(os.environ.get("LAKEROUTE_IT_STATE", REPO / "target" / "integration")) / "env"
    if env.exists():
        for line in env.read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            if key == name:
                return value
    return default


def _answers(url: str) -> bool:
    host, _, port = url.removeprefix("http://").split("/")[0].partition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def _descriptor(domain: str, name: str, profile: str, prefix: str, partitions: str = "") -> str:
    cols = f"\n  partitioningColumns: [{partitions}]" if partitions else ""
    return (
        f"entityName: {name}\nentityVersion: v1\ndomain: {domain}\ncoldStorage:\n"
        f"  format: parquet\n  location: {{storage: {profile}, prefix: {prefix}}}{cols}\n"
    )


@pytest.fixture
def local_catalog(tmp_path: Path) -> Path:
    """A catalog whose datasets live in local folders: `t/data/v1` (partitioned by country)."""
    cat = tmp_path / "catalog"
    (cat / "t").mkdir(parents=True)
    (cat / "lakeroute.yaml").write_text(
        "default_environment: prod\nenvironments:\n  prod: {}\n  frozen: {read_only: true}\n"
        f"storage:\n  disk:\n    provider: local\n    root: {tmp_path / 'data'}\n"
    )
    (cat / "t" / "data.yaml").write_text(_descriptor("t", "data", "disk", "data", "country"))
    (cat / "t" / "out.yaml").write_text(_descriptor("t", "out", "disk", "out"))
    return cat


@pytest.fixture(scope="session")
def servers() -> dict[str, str]:
    s3 = _setting("LAKEROUTE_IT_S3_ENDPOINT", "http://127.0.0.1:9311")
    azure = _setting("LAKEROUTE_IT_AZURE_ENDPOINT", "http://127.0.0.1:10111")
    if not (_answers(s3) and _answers(azure)):
        why = f"the local S3 ({s3}) and Azure ({azure}) servers are not answering; run integration/start"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {why}")
        pytest.skip(why)
    return {"s3": s3, "azure": azure}


@pytest.fixture
def server_catalog(tmp_path: Path, servers: dict[str, str]) -> Path:
    """Datasets on S3 (moto) and Azure (Azurite), each below a fresh prefix."""
    run = uuid.uuid4().hex[:12]
    cat = tmp_path / "server-catalog"
    (cat / "t").mkdir(parents=True)
    (cat / "lakeroute.yaml").write_text(
        f"""storage:
  s3:
    provider: aws
    bucket: lakeroute-it
    region: us-east-1
    endpoint: {servers['s3']}
    path_style: true
    credentials: {{access_key_id: testing, secret_access_key: testing}}
  azure:
    provider: azure
    account: devstoreaccount1
    container: lakeroute-it
    region: westeurope
    endpoint: {servers['azure']}/devstoreaccount1
    credentials: {{account_key: {AZURITE_KEY}}}
"""
    )
    (cat / "t" / "s3.yaml").write_text(_descriptor("t", "s3", "s3", f"py/{run}/s3", "country"))
    (cat / "t" / "azure.yaml").write_text(_descriptor("t", "azure", "azure", f"py/{run}/azure"))
    yield cat
    import lakeroute

    lake = lakeroute.Lake(cat)
    for uri in ("lake://t/s3/v1/", "lake://t/azure/v1/"):
        lake.delete_prefix(uri)


@pytest.fixture(params=["local", "s3", "azure"])
def backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(catalog folder, base URI) for each backend."""
    if request.param == "local":
        return str(request.getfixturevalue("local_catalog")), "lake://t/out/v1/"
    cat = request.getfixturevalue("server_catalog")
    return str(cat), f"lake://t/{request.param}/v1/"
