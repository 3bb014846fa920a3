"""Dask on 2 worker processes: read a partitioned dataset from S3, write a result to Azure."""

from __future__ import annotations

import pandas as pd
import pytest

import lakeroute


def test_dask_cluster_reads_s3_writes_azure(server_catalog) -> None:  # type: ignore[no-untyped-def]
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    opts = {"catalog": str(server_catalog)}
    df = pd.DataFrame({"customer": [f"c{i % 7}" for i in range(700)], "amount": range(700), "country": [["IT", "FR", "DE"][i % 3] for i in range(700)]})
    df.to_parquet("lake://t/s3/v1/orders/", partition_cols=["country"], storage_options=opts)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            orders = dd.read_parquet("lake://t/s3/v1/orders/", storage_options=opts)
            top = orders.groupby("customer")["amount"].sum().reset_index()
            top.to_parquet("lake://t/azure/v1/top/", storage_options=opts, write_index=False)
            workers = client.run(lambda: __import__("os").getpid())
            assert len(workers) == 2

    result = pd.read_parquet("lake://t/azure/v1/top/", storage_options=opts).sort_values("customer")
    expected = df.groupby("customer")["amount"].sum().reset_index().sort_values("customer")
    assert result["amount"].tolist() == expected["amount"].tolist()
    assert lakeroute.Lake(server_catalog).resolve("lake://t/azure/v1/top/").startswith("abfss://lakeroute-it@devstoreaccount1")
