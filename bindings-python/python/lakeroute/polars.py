"""polars helpers for ``lake://`` data.

polars reads any file object, so ``pl.read_parquet(lake.open(uri))`` works for one file. Its
native reader does not consult fsspec for other protocols, so for a whole (partitioned) dataset
use :func:`read_parquet` here, which goes through pyarrow's dataset reader on the lake.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow.dataset as ds

from .fsspec import LakeFileSystem


def read_parquet(uri: str, *, catalog: str | None = None, environment: str | None = None, **kwargs: Any) -> pl.DataFrame:
    """A parquet file or a Hive-partitioned directory of them, as a DataFrame."""
    fs = LakeFileSystem(catalog=catalog, environment=environment)
    if fs.isfile(uri):
        with fs.open(uri, "rb") as f:
            return pl.read_parquet(f, **kwargs)
    dataset = ds.dataset(uri, filesystem=fs, format="parquet", partitioning="hive")
    return pl.scan_pyarrow_dataset(dataset).collect()


def write_parquet(df: pl.DataFrame, uri: str, *, catalog: str | None = None, environment: str | None = None, **kwargs: Any) -> None:
    """Writes ``df`` as one parquet file at ``uri`` (published when complete)."""
    fs = LakeFileSystem(catalog=catalog, environment=environment)
    with fs.open(uri, "wb") as f:
        df.write_parquet(f, **kwargs)
