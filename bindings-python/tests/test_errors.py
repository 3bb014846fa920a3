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


def test_bad_catalog_lists_every_problem(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "lakeroute.yaml").write_text("storage:\n  m: {provider: memroy}\n")
    (tmp_path / "x.yaml").write_text("entityName: x\n")
    with pytest.raises(ValueError) as e:
        lakeroute.Lake(tmp_path)
    text = str(e.value)
    assert "unknown provider" in text and "missing required field" in text and "x.yaml:1:1" in text
