"""The Lake API on every backend: local folders, S3 (moto) and Azure (Azurite)."""

from __future__ import annotations

import asyncio
import gc
import io
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import lakeroute


def test_bytes_round_trip_zero_copy(backend: tuple[str, str]) -> None:
    catalog, base = backend
    lake = lakeroute.Lake(catalog)
    payload = os.urandom(100_000)
    written = lake.put(base + "a b/x.bin", payload)
    assert written["size"] == 100_000
    data = lake.get(base + "a b/x.bin")
    assert isinstance(data, lakeroute.Bytes)
    view = memoryview(data)  # the buffer protocol: no copy into a bytes object
    assert view.nbytes == 100_000 and bytes(view[:10]) == payload[:10]
    assert bytes(lake.get_range(base + "a b/x.bin", 10, 20)) == payload[10:20]
    parts = lake.get_ranges(base + "a b/x.bin", [0, 50_000], [5, 50_010])
    assert [bytes(p) for p in parts] == [payload[:5], payload[50_000:50_010]]
    head = lake.head(base + "a b/x.bin")
    assert head["size"] == 100_000 and head["uri"] == base + "a%20b/x.bin"
    # Any buffer goes in: bytearray, memoryview.
    lake.put(base + "ba.bin", bytearray(b"bytearray"))
    lake.put(base + "mv.bin", memoryview(b"memoryview"))
    assert bytes(lake.get(base + "ba.bin")) == b"bytearray"
    assert bytes(lake.get(base + "mv.bin")) == b"memoryview"
    # Not a buffer, or not one contiguous run of bytes: refused, nothing written.
    with pytest.raises(TypeError):
        lake.put(base + "int.bin", 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        lake.put(base + "strided.bin", memoryview(b"abcdef")[::2])
    for key in ("int.bin", "strided.bin"):
        with pytest.raises(FileNotFoundError):
            lake.head(base + key)


def test_listing_copy_rename_delete(backend: tuple[str, str]) -> None:
    catalog, base = backend
    lake = lakeroute.Lake(catalog)
    for key in ["k/1.txt", "k/2.txt", "k/sub/3.txt", "top.txt"]:
        lake.put(base + key, key.encode())
    assert [o["uri"] for o in lake.list(base + "k/")] == [base + "k/1.txt", base + "k/2.txt", base + "k/sub/3.txt"]
    level = lake.ls(base)
    assert level["prefixes"] == [base + "k/"]
    assert [o["uri"] for o in level["objects"]] == [base + "top.txt"]
    assert lake.copy(base + "top.txt", base + "copy.txt") == len(b"top.txt")
    lake.rename(base + "copy.txt", base + "moved.txt")
    assert bytes(lake.get(base + "moved.txt")) == b"top.txt"
    with pytest.raises(FileNotFoundError):
        lake.head(base + "copy.txt")
    lake.delete(base + "moved.txt")
    lake.delete(base + "moved.txt")  # idempotent
    assert lake.delete_prefix(base + "k/") == 3


def test_open_streams_and_seeks(backend: tuple[str, str]) -> None:
    catalog, base = backend
    lake = lakeroute.Lake(catalog)
    blob = os.urandom(9 * 1024 * 1024 + 123)  # more than one 8 MiB part
    with lake.open(base + "big.bin", "wb") as f:
        for i in range(0, len(blob), 1_000_000):
            f.write(blob[i : i + 1_000_000])
    with lake.open(base + "big.bin", "rb") as f:
        f.seek(8 * 1024 * 1024)
        assert f.read(500) == blob[8 * 1024 * 1024 : 8 * 1024 * 1024 + 500]
        f.seek(-10, io.SEEK_END)
        assert f.read() == blob[-10:]
    # A failure inside the with block publishes nothing.
    with pytest.raises(RuntimeError):
        with lake.open(base + "never.bin", "wb") as f:
            f.write(b"partial" * 1000)
            raise RuntimeError("job failed")
    with pytest.raises(FileNotFoundError):
        lake.head(base + "never.bin")
    # put() of a file object streams it.
    lake.put(base + "from-file.bin", io.BytesIO(blob))
    assert lake.head(base + "from-file.bin")["size"] == len(blob)


def test_put_file_and_local_copies(backend: tuple[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    catalog, base = backend
    lake = lakeroute.Lake(catalog)
    src = tmp_path / "local file.csv"
    src.write_bytes(b"a,b\n1,2\n")
    lake.put_file(base + "uploaded.csv", src)
    dst = tmp_path / "back.csv"
    lake.copy(base + "uploaded.csv", dst.as_uri())
    assert dst.read_bytes() == b"a,b\n1,2\n"


def test_async_twins(backend: tuple[str, str]) -> None:
    catalog, base = backend
    lake = lakeroute.Lake(catalog)

    async def main() -> list[bytes]:
        await asyncio.gather(*(lake.put_async(f"{base}async/{i}", str(i).encode()) for i in range(20)))
        got = await asyncio.gather(*(lake.get_async(f"{base}async/{i}") for i in range(20)))
        assert len(await lake.list_async(base + "async/")) == 20
        # Errors arrive as the same exceptions as from the blocking twins.
        with pytest.raises(FileNotFoundError, match="missing"):
            await lake.get_async(f"{base}async/missing")
        # A cancelled awaitable raises CancelledError, and the loop goes on serving others.
        # (Cancelled before the loop runs again, so before any result can have been set.)
        task = asyncio.ensure_future(lake.get_async(f"{base}async/0"))
        assert task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(lake.get_async(f"{base}async/1"), timeout=0)
        assert bytes(await lake.get_async(f"{base}async/2")) == b"2"
        await lake.delete_prefix_async(base + "async/")
        return [bytes(g) for g in got]

    assert asyncio.run(main()) == [str(i).encode() for i in range(20)]


class _NoReaders(asyncio.SelectorEventLoop):
    """An event loop that cannot watch sockets, as Windows' proactor loop cannot."""

    def add_reader(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_async_results_reach_every_loop(local_catalog) -> None:  # type: ignore[no-untyped-def]
    lake = lakeroute.Lake(local_catalog)
    for i in range(32):
        lake.put(f"lake://t/out/v1/loops/{i}", str(i).encode())

    async def main(tag: int) -> list[bytes]:
        got = await asyncio.gather(*(lake.get_async(f"lake://t/out/v1/loops/{i}") for i in range(32)))
        with pytest.raises(FileNotFoundError):
            await lake.get_async(f"lake://t/out/v1/loops/missing-{tag}")
        return [bytes(g) for g in got]

    want = [str(i).encode() for i in range(32)]
    # A loop that cannot watch a socket gets its results through the completion thread.
    loop = _NoReaders()
    try:
        assert loop.run_until_complete(main(0)) == want
    finally:
        loop.close()
    # Loops one after another on this thread, and four at once on their own threads.
    assert asyncio.run(main(1)) == want
    assert asyncio.run(main(2)) == want
    results: list[list[bytes]] = []
    threads = [threading.Thread(target=lambda t=t: results.append(asyncio.run(main(t)))) for t in range(3, 7)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [want] * 4
    # Two loops taking turns on one thread keep one queue (and one socket pair) each.
    fds = Path("/proc/self/fd")
    if fds.is_dir():
        a, b = asyncio.new_event_loop(), asyncio.new_event_loop()
        try:
            for loop in (a, b):
                assert loop.run_until_complete(main(7)) == want
            before = len(list(fds.iterdir()))
            for turn in range(50):
                assert (a if turn % 2 else b).run_until_complete(main(8 + turn)) == want
            assert len(list(fds.iterdir())) <= before + 1
        finally:
            a.close()
            b.close()
    lake.delete_prefix("lake://t/out/v1/loops/")


def test_loops_that_stop_before_their_results_come_are_freed(local_catalog) -> None:  # type: ignore[no-untyped-def]
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("counts open files through /proc")
    lake = lakeroute.Lake(local_catalog)
    for i in range(16):
        lake.put(f"lake://t/out/v1/late/{i}", b"x" * (1 << 20))

    async def main() -> None:
        # The missing object fails first and ends the gather (and the loop); the other reads
        # are plain futures, not tasks, so nothing cancels them and they finish later.
        await asyncio.gather(lake.get_async("lake://t/out/v1/late/missing"),
                             *(lake.get_async(f"lake://t/out/v1/late/{i}") for i in range(16)))

    def open_files() -> int:
        time.sleep(0.5)  # the late reads finish
        gc.collect()
        return len(list(fds.iterdir()))

    before = open_files()
    for _ in range(20):
        with pytest.raises(FileNotFoundError):
            asyncio.run(main())
    # Each loop's socket pair went with the loop, late results or not.
    assert open_files() <= before + 2
    lake.delete_prefix("lake://t/out/v1/late/")


_EXIT_SCRIPT = """
import asyncio, sys
import lakeroute
sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible: the race is at its widest
lake = lakeroute.Lake(sys.argv[1])
for i in range(64):
    lake.put(f"lake://t/out/v1/exit/{i}", b"x" * 100)
async def main():
    await asyncio.gather(*(lake.get_async(f"lake://t/out/v1/exit/{i}") for i in range(64)))
    # The first error ends the gather; the other 63 fail as the interpreter exits.
    try:
        await asyncio.gather(*(lake.get_async(f"lake://t/out/v1/exit/missing-{i}") for i in range(64)))
    except FileNotFoundError:
        pass
class NoReaders(asyncio.SelectorEventLoop):
    def add_reader(self, *args, **kwargs):
        raise NotImplementedError
for _ in range(30):
    if sys.argv[2] == "thread":
        loop = NoReaders()
        loop.run_until_complete(main())
        loop.close()
    else:
        asyncio.run(main())
"""


@pytest.mark.parametrize("route", ["reader", "thread"])
def test_exit_right_after_async_results_does_not_abort(local_catalog, route: str) -> None:  # type: ignore[no-untyped-def]
    # The completion thread (used by loops that cannot watch a socket) can lose the GIL halfway
    # through a batch whose last result lets the script end; asking for it again during
    # finalization used to abort the process ("FATAL: exception not rethrown", status 134) in
    # about one run in ten. Results that reach their loop through its socket, errors included,
    # never take the GIL off the loop's thread.
    for run in range(40):
        done = subprocess.run([sys.executable, "-c", _EXIT_SCRIPT, str(local_catalog), route],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"run {run}: exit status {done.returncode}: {done.stderr[-500:]}"


_LOG_SCRIPT = """
import sys, lakeroute
lake = lakeroute.Lake(sys.argv[1])
uri = sys.argv[2]
lake.put(uri, b"abc")
assert bytes(lake.get(uri)) == b"abc"
"""


def test_lakeroute_log_writes_diagnostics_to_stderr(local_catalog) -> None:  # type: ignore[no-untyped-def]
    def run(env: dict[str, str]) -> str:
        done = subprocess.run([sys.executable, "-c", _LOG_SCRIPT, str(local_catalog), "lake://t/out/v1/log.bin"],
                              capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if k != "LAKEROUTE_LOG"} | env)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stderr

    assert run({}) == "", "silent unless asked"
    logged = run({"LAKEROUTE_LOG": "lakeroute=debug"})
    assert "accounting" in logged and "t/out/v1" in logged, logged[-2000:]
    assert "\x1b[" not in logged, "no colour codes when stderr is not a terminal"


def test_trace_logs_carry_no_secret(server_catalog) -> None:  # type: ignore[no-untyped-def]
    from conftest import AZURITE_KEY

    done = subprocess.run([sys.executable, "-c", _LOG_SCRIPT, str(server_catalog), "lake://t/azure/v1/log.bin"],
                          capture_output=True, text=True, timeout=120, env=os.environ | {"LAKEROUTE_LOG": "trace"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "accounting" in done.stderr, done.stderr[-2000:]
    assert AZURITE_KEY not in done.stderr
    assert "SharedKey devstoreaccount1:" not in done.stderr, "no request signature in the logs"


def cached_lake(catalog, cache_dir) -> lakeroute.Lake:  # type: ignore[no-untyped-def]
    """A lake on `catalog` computing on Azure, with a 64 MiB cache in `cache_dir`: reads of
    its S3 datasets cross clouds, so the cache keeps them."""
    settings = catalog / "lakeroute.yaml"
    settings.write_text(
        f"compute: {{provider: azure, region: westeurope}}\ncache: {{dir: {cache_dir}, max_bytes: 64MiB}}\n"
        + settings.read_text()
    )
    return lakeroute.Lake(catalog)


def test_stats_per_dataset_and_profile_with_the_cache(server_catalog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake = cached_lake(server_catalog, tmp_path / "cache")
    data = os.urandom(300_000)
    lake.put("lake://t/s3/v1/stats.bin", data)
    assert bytes(lake.get("lake://t/s3/v1/stats.bin")) == data
    assert bytes(lake.get("lake://t/s3/v1/stats.bin")) == data  # from the cache
    stats = lake.stats()
    ds = stats["by_dataset"]["t/s3/v1"]
    assert (ds["cache_misses"], ds["cache_hits"]) == (1, 1), stats
    assert ds["bytes_remote"] == ds["bytes_cached"] == len(data) == ds["bytes_written"]
    assert ds["dollars_spent"] > 0 and ds["dollars_avoided"] > 0, ds
    assert stats["by_profile"]["s3"] == ds, stats
    assert stats["total"] == ds


def test_cache_info_prune_and_clear(server_catalog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert lakeroute.Lake(server_catalog).cache_clear() is None, "no cache: nothing to clear"
    lake = cached_lake(server_catalog, tmp_path / "cache")
    data = os.urandom(300_000)
    lake.put("lake://t/s3/v1/kept.bin", data)
    assert bytes(lake.get("lake://t/s3/v1/kept.bin")) == data
    info = lake.cache_info()
    assert info is not None and (info["entries"], info["bytes"]) == (1, 300_000), info
    assert info["max_bytes"] == 64 << 20 and info["dir"] == str(tmp_path / "cache")
    # Read a moment ago: worth keeping for weeks, so a prune deletes nothing.
    assert lake.cache_prune() == {"entries": 0, "bytes": 0}
    assert lake.cache_clear() == {"entries": 1, "bytes": 300_000}
    assert lake.cache_info() == {**info, "entries": 0, "bytes": 0}
    assert bytes(lake.get("lake://t/s3/v1/kept.bin")) == data
    assert lake.stats()["by_dataset"]["t/s3/v1"]["cache_misses"] == 2


def test_resolve_partitions_and_plan(local_catalog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake = lakeroute.Lake(local_catalog)
    assert lake.resolve("lake://t/data/v1/x").startswith("file://") and lake.resolve("lake://t/data/v1/x").endswith("/data/data/x")
    for c in ["IT", "FR", "São Paulo"]:
        lake.put(f"lake://t/data/v1/country={c}/part-0.parquet", b"x")
    found = lake.partitions("lake://t/data/v1", ["country=IT|FR"])
    assert sorted(p["values"]["country"] for p in found) == ["FR", "IT"]
    job = tmp_path / "job.yaml"
    (local_catalog / "lakeroute.yaml").write_text(
        (local_catalog / "lakeroute.yaml").read_text() + "clusters:\n  c1: {provider: aws, region: us-east-1}\n"
    )
    job.write_text(
        "specVersion: v1\nname: j\nsources:\n  - {domain: t, name: data, version: v1}\n"
        "sink: {domain: t, name: out, version: v1}\nframework: {kind: spark, cluster: c1}\n"
    )
    plan = lakeroute.Lake(local_catalog).plan(job, None, False)
    assert plan["job"] == "j" and plan["cluster"]["name"] == "c1"
    assert plan["sources"][0]["dataset"] == "lake://t/data/v1"
    assert plan["sources"][0]["bytes"] == 3


def test_sync_between_clouds(server_catalog) -> None:  # type: ignore[no-untyped-def]
    lake = lakeroute.Lake(server_catalog)
    for i in range(3):
        lake.put(f"lake://t/s3/v1/sync/{i}.bin", os.urandom(1000))
    first = lake.sync("lake://t/s3/v1/sync/", "lake://t/azure/v1/sync/")
    again = lake.sync("lake://t/s3/v1/sync/", "lake://t/azure/v1/sync/")
    assert (first["copied"], again["copied"], again["bytes"]) == (3, 0, 0)


def test_reading_a_whole_file_object_is_one_request(server_catalog) -> None:  # type: ignore[no-untyped-def]
    lake = lakeroute.Lake(server_catalog)
    data = os.urandom(10 << 20)
    lake.put("lake://t/s3/v1/whole.bin", data)
    before = lake.stats()["by_dataset"]["t/s3/v1"]["requests"]
    with lake.open("lake://t/s3/v1/whole.bin") as f:
        assert f.read() == data
    # A HEAD (for the size) and one GET: RawIOBase's own readall asked 8 KiB at a time.
    assert lake.stats()["by_dataset"]["t/s3/v1"]["requests"] - before == 2


def _read_in_child(lake: lakeroute.Lake, uri: str, out) -> None:  # type: ignore[no-untyped-def]
    async def both() -> bytes:
        return bytes(await lake.get_async(uri))

    out.put((bytes(lake.get(uri)), asyncio.run(both())))


def test_a_forked_child_can_use_the_lake_its_parent_used(server_catalog) -> None:  # type: ignore[no-untyped-def]
    import multiprocessing

    lake = lakeroute.Lake(server_catalog)
    uri = "lake://t/s3/v1/fork.bin"
    lake.put(uri, b"from the parent")
    # The parent's runtime runs and its connection pool holds a connection to the server.
    assert bytes(lake.get(uri)) == b"from the parent"
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_read_in_child, args=(lake, uri, out))  # inherited, not pickled
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung on its first call")
    assert child.exitcode == 0
    assert out.get(timeout=10) == (b"from the parent", b"from the parent")
    assert bytes(lake.get(uri)) == b"from the parent", "the parent still works"


def test_pickles_carry_the_resolved_catalog_and_environment(local_catalog, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lakeroute.fsspec import LakeFileSystem

    monkeypatch.chdir(local_catalog.parent)
    monkeypatch.setenv("LAKEROUTE_ENV", "frozen")
    blobs = [pickle.dumps(lakeroute.Lake("catalog")), pickle.dumps(LakeFileSystem(catalog="catalog"))]
    # Where it is unpickled (a Dask worker), neither the variable nor the folder is the same.
    monkeypatch.delenv("LAKEROUTE_ENV")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for blob in blobs:
        clone = pickle.loads(blob)
        lake = clone.lake if isinstance(clone, LakeFileSystem) else clone
        assert (lake.catalog, lake.environment) == (str(local_catalog), "frozen")
        with pytest.raises(PermissionError):
            lake.put("lake://t/out/v1/x", b"frozen is read-only")


def test_modified_times_parse_on_every_python(local_catalog) -> None:  # type: ignore[no-untyped-def]
    from lakeroute.fsspec import LakeFileSystem

    fs = LakeFileSystem(catalog=str(local_catalog))
    fs.pipe("lake://t/out/v1/m.txt", b"m")
    when = fs.modified("lake://t/out/v1/m.txt")
    assert when.tzinfo is not None and abs(time.time() - when.timestamp()) < 600


_INTERRUPT_SCRIPT = """
import os, signal, sys, threading, time, lakeroute
lake = lakeroute.Lake(sys.argv[1])
threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
start = time.monotonic()
try:
    lake.get("lake://t/silent/v1/x")
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - start:.1f} s")
"""


def test_ctrl_c_stops_a_blocking_call(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    # A server that accepts connections and never answers: the GET would wait for its timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    cat = tmp_path / "catalog"
    (cat / "t").mkdir(parents=True)
    (cat / "lakeroute.yaml").write_text(
        f"storage:\n  s3:\n    provider: aws\n    bucket: b\n    region: us-east-1\n"
        f"    endpoint: http://127.0.0.1:{port}\n    connect_timeout: 5m\n    max_retries: 0\n"
        "    credentials: {access_key_id: k, secret_access_key: s}\n"
    )
    (cat / "t" / "silent.yaml").write_text(
        "entityName: silent\nentityVersion: v1\ncoldStorage:\n  format: binary\n  location: {storage: s3, prefix: p}\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", _INTERRUPT_SCRIPT, str(cat)],
                              capture_output=True, text=True, timeout=60)
    finally:
        silent.close()
    assert done.returncode == 0, done.stderr[-2000:]
    took = float(done.stdout.split()[2])
    assert 0.9 <= took < 10, done.stdout
