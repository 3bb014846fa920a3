"""Spark reads the Hive partitions lakeroute writes, with the values they were written with."""

from __future__ import annotations

import io
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakeroute

VALUES = [
    ("IT", "2024-01-01"),
    ("São Paulo/BR", "2024-01-01 10:00"),
    ("50% = half", "a#b?c"),
    (None, "2024-01-03"),
    ("quote'\"star*", "{[brackets]}^"),
    ("back\\slash", "tab\there"),
]


def test_spark_reads_lakeroute_hive_partitions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pyspark = pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark")
    cat = tmp_path / "catalog"
    cat.mkdir()
    data = tmp_path / "data"
    (cat / "lakeroute.yaml").write_text(f"storage:\n  disk:\n    provider: local\n    root: {data}\n")
    (cat / "events.yaml").write_text(
        "entityName: events\nentityVersion: v1\ndomain: web\ncoldStorage:\n  format: parquet\n"
        "  location: {storage: disk, prefix: events}\n  partitioningColumns: [country, day]\n"
    )
    lake = lakeroute.Lake(cat)
    for i, (country, day) in enumerate(VALUES):
        buf = io.BytesIO()
        pq.write_table(pa.table({"id": [i]}), buf)
        uri = lake.partition_file_uri("lake://web/events/v1", [country, day], "part-0.parquet")
        lake.put(uri, buf.getvalue())

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", "python3")
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("lakeroute-partitions")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    try:
        rows = spark.read.parquet(str(data / "events")).collect()
    finally:
        spark.stop()
    got = sorted((r["id"], r["country"], r["day"]) for r in rows)
    assert got == [(i, c, d) for i, (c, d) in enumerate(VALUES)]
