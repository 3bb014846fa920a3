"""pandas, pyarrow, polars through fsspec's `lake` protocol, and pickling."""

from __future__ import annotations

import pickle

import fsspec
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakeroute
import lakeroute.polars
from lakeroute.fsspec import LakeFileSystem


@pytest.fixture
def data_catalog(request: pytest.FixtureRequest, local_catalog) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return str(local_catalog), "lake://t/data/v1"


def test_entry_point_registers_the_protocol() -> None:
    assert fsspec.get_filesystem_class("lake") is LakeFileSystem


def _people() -> pd.DataFrame:
    return pd.DataFrame(
        {"name": ["Ada", "Grace", "Enrico", "Rita"], "spend": [10.5, 3.0, 7.25, 1.0], "country": ["GB", "US", "IT", "IT"]}
    )


def test_pandas_partitioned_round_trip(backend: tuple[str, str]) -> None:
    catalog, base = backend
    opts = {"catalog": catalog}
    df = _people()
    df.to_parquet(base + "people/", partition_cols=["country"], storage_options=opts)
    back = pd.read_parquet(base + "people/", storage_options=opts)
    assert sorted(back["name"]) == sorted(df["name"])
    assert sorted(back["country"].astype(str).unique()) == ["GB", "IT", "US"]
    df.to_csv(base + "people.csv", index=False, storage_options=opts)
    assert pd.read_csv(base + "people.csv", storage_options=opts).shape == (4, 3)


def test_pyarrow_read_table_and_write_to_dataset(backend: tuple[str, str]) -> None:
    catalog, base = backend
    fs = LakeFileSystem(catalog=catalog)
    table = pa.Table.from_pandas(_people(), preserve_index=False)
    pq.write_to_dataset(table, base + "ds", partition_cols=["country"], filesystem=fs)
    for path in (base + "ds", (base + "ds").removeprefix("lake://")):
        back = pq.read_table(path, filesystem=fs)
        assert back.num_rows == 4 and set(back.column_names) == {"name", "spend", "country"}
    # cat_ranges: several ranges of one file in one call.
    files = fs.find(base + "ds")
    size = fs.info(files[0])["size"]
    got = fs.cat_ranges([files[0], files[0]], [0, size - 4], [4, size])
    assert got == [b"PAR1", b"PAR1"]


def test_polars(backend: tuple[str, str]) -> None:
    catalog, base = backend
    df = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    lakeroute.polars.write_parquet(df, base + "pl/one.parquet", catalog=catalog)
    fs = LakeFileSystem(catalog=catalog)
    with fs.open(base + "pl/one.parquet", "rb") as f:
        assert pl.read_parquet(f).equals(df)
    assert lakeroute.polars.read_parquet(base + "pl/one.parquet", catalog=catalog).equals(df)
    _people().to_parquet(base + "pl/parts/", partition_cols=["country"], storage_options={"catalog": catalog})
    assert lakeroute.polars.read_parquet(base + "pl/parts/", catalog=catalog).height == 4


def test_filesystem_operations(data_catalog: tuple[str, str]) -> None:
    catalog, base = data_catalog
    fs = LakeFileSystem(catalog=catalog)
    fs.pipe(base + "/a/x.txt", b"hello")
    assert fs.cat(base + "/a/x.txt") == b"hello"
    assert fs.cat_file(base + "/a/x.txt", start=-3) == b"llo"
    assert fs.isdir(base + "/a") and fs.isfile(base + "/a/x.txt") and fs.exists(base)
    # Names come back in the form asked: with the protocol, or without it as fsspec passes them.
    assert fs.ls(base, detail=False) == ["lake://t/data/v1/a"]
    assert fs.ls("t/data/v1", detail=False) == ["t/data/v1/a"]
    fs.cp(base + "/a/x.txt", base + "/b/y.txt")
    fs.mv(base + "/b/y.txt", base + "/b/z.txt")
    assert sorted(fs.find("t/data/v1")) == ["t/data/v1/a/x.txt", "t/data/v1/b/z.txt"]
    fs.rm(base + "/a", recursive=True)
    assert not fs.exists(base + "/a/x.txt")
    with pytest.raises(FileNotFoundError):
        fs.info(base + "/nothing/here")


def test_pickling_carries_options_not_credentials(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    cat = tmp_path / "c"
    cat.mkdir()
    secret = "do-not-pickle-this-secret"
    (cat / "lakeroute.yaml").write_text(
        f"storage:\n  s3:\n    provider: aws\n    bucket: lakeroute-it\n    endpoint: {servers['s3']}\n"
        f"    path_style: true\n    credentials: {{access_key_id: testing, secret_access_key: {secret}}}\n"
    )
    (cat / "d.yaml").write_text("entityName: d\nentityVersion: v1\ndomain: p\ncoldStorage:\n  format: csv\n  location: {storage: s3, prefix: pickled}\n")
    fs = LakeFileSystem(catalog=str(cat))
    fs.pipe("lake://p/d/v1/x", b"1")
    for obj in (fs, fs.lake, lakeroute.Lake(cat)):
        blob = pickle.dumps(obj)
        assert secret.encode() not in blob and b"testing" not in blob
        clone = pickle.loads(blob)
        lake = clone.lake if isinstance(clone, LakeFileSystem) else clone
        assert bytes(lake.get("lake://p/d/v1/x")) == b"1"
    fs.rm("lake://p/d/v1/x")


def test_writes_publish_whole_files_or_nothing(data_catalog: tuple[str, str]) -> None:
    catalog, base = data_catalog
    fs = LakeFileSystem(catalog=catalog)
    path = base + "/w/f.txt"
    fs.pipe(path, b"good")
    # An exception inside `with` publishes nothing: the good file stays.
    with pytest.raises(RuntimeError):
        with fs.open(path, "wb") as f:
            f.write(b"partial")
            raise RuntimeError("boom")
    assert fs.cat(path) == b"good"
    # Appending would replace the object: refused, as is creating over an existing one.
    with pytest.raises(NotImplementedError, match="append"):
        fs.open(path, "ab")
    with pytest.raises(NotImplementedError):
        pd.DataFrame({"a": [1]}).to_csv(path, mode="a", storage_options={"catalog": catalog})
    with pytest.raises(FileExistsError):
        fs.open(path, "xb")
    with fs.open(base + "/w/new.txt", "xb") as f:
        f.write(b"new")
    assert fs.cat(path) == b"good" and fs.cat(base + "/w/new.txt") == b"new"
    # In a transaction, files appear when it commits, and not at all when it fails.
    with fs.transaction:
        with fs.open(base + "/w/t1.txt", "wb") as f:
            f.write(b"t1")
        assert not fs.exists(base + "/w/t1.txt")
    assert fs.cat(base + "/w/t1.txt") == b"t1"
    with pytest.raises(RuntimeError):
        with fs.transaction:
            with fs.open(base + "/w/t2.txt", "wb") as f:
                f.write(b"t2")
            raise RuntimeError("abandon")
    assert not fs.exists(base + "/w/t2.txt")


def test_directories_move_and_globs_delete(data_catalog: tuple[str, str]) -> None:
    catalog, base = data_catalog
    fs = LakeFileSystem(catalog=catalog)
    for name in ["a/1.txt", "a/sub/2.txt", "g/p-1.txt", "g/p-2.txt", "g/keep.txt"]:
        fs.pipe(f"{base}/{name}", name.encode())
    fs.mv(base + "/a", base + "/b", recursive=True)
    assert sorted(fs.find(base + "/b")) == [base + "/b/1.txt", base + "/b/sub/2.txt"]
    assert fs.cat(base + "/b/sub/2.txt") == b"a/sub/2.txt" and fs.find(base + "/a") == []
    fs.rm(base + "/g/p-*.txt")
    assert fs.find(base + "/g") == [base + "/g/keep.txt"]
    with pytest.raises(FileNotFoundError):
        fs.rm(base + "/g/none-*.txt")


def test_fsspec_edge_cases_of_moving_and_creating(data_catalog: tuple[str, str]) -> None:
    catalog, base = data_catalog
    fs = LakeFileSystem(catalog=catalog)
    for name in ["src/1.txt", "src/sub/2.txt", "dst/old.txt"]:
        fs.pipe(f"{base}/{name}", name.encode())
    # Onto itself: nothing moves, nothing is lost.
    fs.mv(base + "/src/1.txt", base + "/src/1.txt")
    fs.mv(base + "/src", base + "/src", recursive=True)
    assert fs.cat(base + "/src/1.txt") == b"src/1.txt"
    # Into an existing directory, a directory keeps its name there (fsspec's copy rules).
    fs.mv(base + "/src", base + "/dst", recursive=True)
    assert sorted(fs.find(base + "/dst")) == [base + "/dst/old.txt", base + "/dst/src/1.txt", base + "/dst/src/sub/2.txt"]
    # "xb" is an atomic create: of two writers that both found nothing, the second fails.
    first, second = fs.open(base + "/x.txt", "xb"), fs.open(base + "/x.txt", "xb")
    first.write(b"first")
    first.close()
    second.write(b"second")
    with pytest.raises(FileExistsError):
        second.close()
    assert fs.cat(base + "/x.txt") == b"first"
    # A file still open when its transaction commits is published with what it holds.
    with fs.transaction:
        f = fs.open(base + "/open.txt", "wb")
        f.write(b"written, never closed")
    assert fs.cat(base + "/open.txt") == b"written, never closed"
