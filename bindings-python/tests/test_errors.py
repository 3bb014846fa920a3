"""Exceptions are Pythonic and name the input."""

from __future__ import annotations

import pytest

import lakeroute
from lakeroute import exceptions as ex


def test_exception_tree(local_catalog) -> None:  # type: ignore[no-untyped-def]
    lake = lakeroute.Lake(local_catalog)
    with pytest.raises(FileNotFoundError) as e:
        lake.get("lake://t/data/v1/missing.txt")
    assert isinstance(e.value, ex.NotFoundError) and isinstance(e.value, lakeroute.LakeError)
    assert "lake://t/data/v1/missing.txt" in str(e.value)

    with pytest.raises(FileNotFoundError) as e:
        lake.get("lake://t/dta/v1/x")
    assert isinstance(e.value, ex.DatasetNotFoundError)
    assert "did you mean lake://t/data/v1" in str(e.value)

    lake.put_if_absent("lake://t/data/v1/once", b"1")
    with pytest.raises(FileExistsError) as e:
        lake.put_if_absent("lake://t/data/v1/once", b"2")
    assert isinstance(e.value, ex.AlreadyExistsError)

    for bad in ["lake://t/data/v1/../../etc/passwd", "lake://t/data/1/x", "gs://b/k", "lake://t/data/v1/a//b"]:
        with pytest.raises(ValueError) as e:
            lake.get(bad)
        assert isinstance(e.value, lakeroute.LakeError), bad
    with pytest.raises(ex.PathEscapeError):
        lake.put("lake://t/data/v1/%2e%2e/x", b"x")

    frozen = lakeroute.Lake(local_catalog, "frozen")
    with pytest.raises(PermissionError) as e:
        frozen.put("lake://t/data/v1/x", b"x")
    assert isinstance(e.value, ex.ReadOnlyError)

    with pytest.raises(lakeroute.LakeError) as e:
        lakeroute.Lake(local_catalog, "staging")
    assert isinstance(e.value, ex.CatalogError) and "staging" in str(e.value)


def test_budgets_raise_budget_exceeded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A folder standing in for AWS, read from Azure: every byte is egress, and the process may
    # read 1 KiB of it; the job's plan may estimate 100 bytes.
    cat = tmp_path / "catalog"
    (cat / "t").mkdir(parents=True)
    (cat / "lakeroute.yaml").write_text(
        "compute: {provider: azure, region: westeurope}\nbudget: {egress_bytes: 1KiB}\n"
        "clusters:\n  az: {provider: azure, region: westeurope}\n"
        f"storage:\n  far:\n    provider: local\n    emulates: aws\n    region: us-east-1\n    root: {tmp_path / 'data'}\n"
    )
    (cat / "t" / "far.yaml").write_text(
        "entityName: far\nentityVersion: v1\ndomain: t\n"
        "coldStorage:\n  format: parquet\n  location: {storage: far, prefix: far}\n"
    )
    lake = lakeroute.Lake(cat)
    lake.put("lake://t/far/v1/big.bin", b"x" * 4096)
    with pytest.raises(ex.BudgetExceededError) as e:
        lake.get("lake://t/far/v1/big.bin")
    assert isinstance(e.value, lakeroute.LakeError) and not isinstance(e.value, OSError)
    assert "t/far/v1" in str(e.value) and "1024 bytes" in str(e.value)

    job = tmp_path / "job.yaml"
    job.write_text(
        "specVersion: v1\nname: copy\nsources:\n  - {domain: t, name: far, version: v1}\n"
        "framework: {kind: polars, cluster: az}\nbudget: {egress_bytes: 100}\n"
    )
    with pytest.raises(ex.BudgetExceededError) as e:
        lake.plan(job, None, False)
    assert "job copy" in str(e.value) and "t/far/v1" in str(e.value) and "job descriptor" in str(e.value)


def test_bad_catalog_lists_every_problem(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "lakeroute.yaml").write_text("storage:\n  m: {provider: memroy}\n")
    (tmp_path / "x.yaml").write_text("entityName: x\n")
    with pytest.raises(ValueError) as e:
        lakeroute.Lake(tmp_path)
    text = str(e.value)
    assert "unknown provider" in text and "missing required field" in text and "x.yaml:1:1" in text
