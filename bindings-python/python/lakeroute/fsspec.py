"""fsspec filesystem for ``lake://`` paths, so pandas, pyarrow, polars and Dask read the lake.

Registered for the ``lake`` protocol through the ``fsspec.specs`` entry point: after
``pip install lakeroute`` no import is needed::

    import pandas as pd
    df = pd.read_parquet("lake://finance/customer/v1/", storage_options={"catalog": "catalog/"})

Options (``storage_options``): ``catalog`` (default ``LAKEROUTE_CATALOG``) and ``environment``
(default ``LAKEROUTE_ENV``). The filesystem pickles those options, never credentials or native
handles, and rebuilds its lake on the worker that unpickles it (Dask).

Limits, stated plainly: object stores have no directories, so ``mkdir`` does nothing and a
"directory" exists when something is below it (or it is a dataset root); paths must name a
dataset (``lake://<domain>/<dataset>/v<N>/...``) to be listed; files are written whole on
``close()``: mode ``"ab"`` is refused (object stores cannot append); ``"xb"`` raises
``FileExistsError`` for an existing object (atomically for a file up to one block, 8 MiB by
default); an exception inside ``with fs.open(path, "wb") as f:``, or a failed write, publishes
nothing (``fsspec.open`` and text or compressed modes close the file whatever happened, as they
do for every filesystem). Files opened in a transaction are published when it commits. ``cat_ranges`` batches the ranges of each file into one call, which
coalesces nearby ranges (parquet footers and column chunks) into few requests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from . import Lake
from .exceptions import DatasetNotFoundError

_PROTOCOL = "lake://"


class LakeFileSystem(AbstractFileSystem):
    """fsspec filesystem over :class:`lakeroute.Lake` for the ``lake`` protocol."""

    protocol = ("lake",)
    root_marker = ""
    cachable = True

    def __init__(self, catalog: str | os.PathLike[str] | None = None, environment: str | None = None, **kwargs: Any) -> None:
        super().__init__(catalog=catalog, environment=environment, **kwargs)
        self.lake = Lake(os.fspath(catalog) if catalog is not None else None, environment)
        # What the lake resolved (an absolute catalog folder, the environment LAKEROUTE_ENV or
        # the catalog chose): a pickled filesystem is rebuilt from these (`__reduce__`), so a
        # Dask worker with another working directory or environment reaches the same data.
        self.catalog = self.lake.catalog
        self.environment = self.lake.environment

    def __reduce__(self):  # type: ignore[no-untyped-def]
        from fsspec.spec import make_instance

        options = {**self.storage_options, "catalog": self.catalog, "environment": self.environment}
        return make_instance, (type(self), self.storage_args, options)

    # --- paths -------------------------------------------------------------------------------
    @classmethod
    def _strip_protocol(cls, path: str) -> str:  # type: ignore[override]
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]  # type: ignore[return-value]
        path = str(path)
        if path.startswith(_PROTOCOL):
            path = path[len(_PROTOCOL) :]
        return path.rstrip("/")

    @staticmethod
    def _uri(path: str) -> str:
        return _PROTOCOL + LakeFileSystem._strip_protocol(path)

    def unstrip_protocol(self, name: str) -> str:
        return self._uri(name)

    @staticmethod
    def _echo(names: dict | list, asked: str) -> Any:
        """Names in the form they were asked for: pyarrow hands over ``lake://...`` paths as
        they were given and checks that what comes back lies below them."""
        if not str(asked).startswith(_PROTOCOL):
            return names
        if isinstance(names, dict):
            return {_PROTOCOL + k: {**v, "name": _PROTOCOL + v["name"]} for k, v in names.items()}
        return [({**n, "name": _PROTOCOL + n["name"]} if isinstance(n, dict) else _PROTOCOL + n) for n in names]

    # --- listing -----------------------------------------------------------------------------
    @staticmethod
    def _file_info(o: dict) -> dict:
        return {
            "name": LakeFileSystem._strip_protocol(o["uri"]),
            "size": o["size"],
            "type": "file",
            "last_modified": o["last_modified"],
            "ETag": o["e_tag"],
        }

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list:  # type: ignore[override]
        return self._echo(self._ls(self._strip_protocol(path), detail), path)

    def _ls(self, path: str, detail: bool) -> list:
        listing = self.lake.ls(self._uri(path) + "/")
        entries = [
            {"name": self._strip_protocol(p), "size": 0, "type": "directory"} for p in listing["prefixes"]
        ] + [self._file_info(o) for o in listing["objects"]]
        if not entries:
            try:
                entries = [self._file_info(self.lake.head(self._uri(path)))]
            except FileNotFoundError:
                if path.count("/") > 2:
                    raise FileNotFoundError(path) from None
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict:
        found = self._info(self._strip_protocol(path))
        return self._echo([found], path)[0]

    def _info(self, path: str) -> dict:
        try:
            return self._file_info(self.lake.head(self._uri(path)))
        except DatasetNotFoundError:
            raise
        except FileNotFoundError:
            pass
        listing = self.lake.ls(self._uri(path) + "/")
        if listing["prefixes"] or listing["objects"] or path.count("/") == 2:
            return {"name": path, "size": 0, "type": "directory"}
        raise FileNotFoundError(path)

    def find(self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any):  # type: ignore[override]
        if maxdepth is not None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        asked, path = path, self._strip_protocol(path)
        try:
            found = {o["name"]: o for o in map(self._file_info, self.lake.list(self._uri(path) + "/"))}
        except FileNotFoundError:
            found = {}
        if withdirs:
            # Every folder between the path and the files, as fsspec's walk would give them.
            for name in list(found):
                parent = name.rsplit("/", 1)[0]
                while len(parent) > len(path) and parent not in found:
                    found[parent] = {"name": parent, "size": 0, "type": "directory"}
                    parent = parent.rsplit("/", 1)[0]
        if not found:
            try:
                found = {path: self._file_info(self.lake.head(self._uri(path)))}
            except FileNotFoundError:
                found = {}
        found = dict(sorted(self._echo(found, asked).items()))
        return found if detail else list(found)

    # --- reading -----------------------------------------------------------------------------
    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        uri = self._uri(path)
        if start is None and end is None:
            return bytes(self.lake.get(uri))
        size = None
        if (start is not None and start < 0) or (end is not None and end < 0) or end is None:
            size = self.lake.head(uri)["size"]
        start = 0 if start is None else (start if start >= 0 else max(0, size + start))  # type: ignore[operator]
        end = size if end is None else (end if end >= 0 else max(0, size + end))  # type: ignore[operator]
        if end is not None and size is not None:
            end = min(end, size)
        return bytes(self.lake.get_range(uri, start, max(start, end)))  # type: ignore[arg-type]

    def cat_ranges(self, paths: list, starts: list, ends: list, max_gap: int | None = None, on_error: str = "return", **kwargs: Any) -> list:  # type: ignore[override]
        if not (len(paths) == len(starts) == len(ends)):
            raise ValueError("paths, starts and ends must have the same length")
        out: list = [None] * len(paths)
        by_path: dict[str, list[int]] = {}
        for i, p in enumerate(paths):
            by_path.setdefault(self._strip_protocol(p), []).append(i)
        for path, idx in by_path.items():
            uri = self._uri(path)
            try:
                if any(starts[i] is None or ends[i] is None or starts[i] < 0 or ends[i] < 0 for i in idx):
                    for i in idx:
                        out[i] = self.cat_file(path, starts[i], ends[i])
                    continue
                got = self.lake.get_ranges(uri, [starts[i] for i in idx], [ends[i] for i in idx])
                for i, data in zip(idx, got):
                    out[i] = bytes(data)
            except Exception as e:  # noqa: BLE001 - fsspec's contract: return or raise per on_error
                if on_error == "raise":
                    raise
                for i in idx:
                    out[i] = e
        return out

    def _open(self, path: str, mode: str = "rb", block_size: int | None = None, autocommit: bool = True, cache_options: dict | None = None, **kwargs: Any) -> LakeFile:
        if "a" in mode:
            raise NotImplementedError(
                f"cannot open {self._uri(path)} for appending: object stores replace objects "
                "whole; read it, then write the whole new content with mode 'wb'"
            )
        if "x" in mode and self.exists(path):
            raise FileExistsError(self._uri(path))
        return LakeFile(self, path, mode=mode, block_size=block_size or LakeFile.DEFAULT_BLOCK_SIZE, autocommit=autocommit, cache_options=cache_options, **kwargs)

    # --- writing -----------------------------------------------------------------------------
    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        if mode == "create":
            self.lake.put_if_absent(self._uri(path), value)
        else:
            self.lake.put(self._uri(path), value)

    def put_file(self, lpath: str, rpath: str, callback: Any = None, mode: str = "overwrite", **kwargs: Any) -> None:
        if os.path.isdir(lpath):
            return
        self.lake.put_file(self._uri(rpath), lpath)

    def get_file(self, rpath: str, lpath: str, callback: Any = None, outfile: Any = None, **kwargs: Any) -> None:
        if self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        Path(lpath).parent.mkdir(parents=True, exist_ok=True)
        self.lake.copy(self._uri(rpath), Path(lpath).resolve().as_uri())

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        self.lake.copy(self._uri(path1), self._uri(path2))

    def mv(self, path1: str, path2: str, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:  # type: ignore[override]
        if isinstance(path1, list):
            raise NotImplementedError("mv takes one source path; call it once per path")
        src, dst = self._strip_protocol(path1), self._strip_protocol(path2)
        if src == dst:
            return
        if recursive and self.isdir(src):
            # As fsspec's copy: into an existing directory, the source keeps its name there
            # (unless it was given with a trailing slash: then its contents move).
            if self.isdir(dst) and not str(path1).endswith("/"):
                dst = f"{dst}/{src.rsplit('/', 1)[-1]}"
            # Directories are prefixes: move every object below, keeping its relative name.
            for name in self.find(src, maxdepth=maxdepth):
                rel = self._strip_protocol(name)[len(src) :]
                self.lake.rename(self._uri(src + rel), self._uri(dst + rel))
        else:
            self.lake.rename(self._uri(src), self._uri(dst))

    def rm_file(self, path: str) -> None:
        self.lake.delete(self._uri(path))

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: str | list, recursive: bool = False, maxdepth: int | None = None) -> None:  # type: ignore[override]
        for p in path if isinstance(path, list) else [path]:
            if any(c in self._strip_protocol(p) for c in "*?["):
                # A glob: what it matches (none: FileNotFoundError, as in s3fs).
                names = self.expand_path(p, recursive=recursive, maxdepth=maxdepth)
                for name in names:
                    if not self.isdir(name):
                        self.rm_file(name)
            elif recursive and maxdepth is None and self.isdir(p):
                self.lake.delete_prefix(self._uri(p) + "/")
            elif recursive and self.isdir(p):
                for name in self.find(p, maxdepth=maxdepth):
                    self.rm_file(name)
            else:
                self.rm_file(p)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Object stores have no directories: nothing to do."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Object stores have no directories: nothing to do."""

    def rmdir(self, path: str) -> None:
        """Object stores have no directories: nothing to do."""

    def created(self, path: str) -> Any:
        return self.modified(path)

    def modified(self, path: str) -> Any:
        return _parse_time(self.info(path)["last_modified"])


def _parse_time(text: str) -> Any:
    """An RFC 3339 time as an aware ``datetime``. Before Python 3.11, ``fromisoformat`` takes
    neither a ``Z`` nor more than six digits of fraction, and stores write both."""
    import re
    from datetime import datetime

    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


class LakeFile(AbstractBufferedFile):
    """A file of the lake: reads by ranged GETs, writes stream a multipart upload that is
    published on ``close()``."""

    DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024

    def _fetch_range(self, start: int, end: int) -> bytes:
        return bytes(self.fs.lake.get_range(self.fs._uri(self.path), start, end))

    def _initiate_upload(self) -> None:
        """Nothing yet: a file that fits in one block is written in one request at the end
        (for ``"xb"``, only if nothing exists there); a larger one starts its multipart upload
        with its first block."""

    def _upload_chunk(self, final: bool = False) -> bool:
        uri = self.fs._uri(self.path)
        if getattr(self, "_failed", False):
            raise OSError(f"an earlier write to {uri} failed; nothing was published")
        data = self.buffer.getvalue()
        try:
            if final and not hasattr(self, "_writer"):
                # The whole file: published at once, or when the transaction commits.
                self._whole = data
            else:
                if not hasattr(self, "_writer"):
                    self._writer = self.fs.lake.writer(uri)
                if data:
                    self._writer.write(data)
        except BaseException:
            # The upload is abandoned: closing the file later publishes nothing.
            self._failed = True
            self.discard()
            raise
        if final and self.autocommit:
            self._publish()
        return True

    def _publish(self) -> None:
        uri = self.fs._uri(self.path)
        whole = getattr(self, "_whole", None)
        if whole is not None:
            del self._whole
            if "x" in self.mode:
                self.fs.lake.put_if_absent(uri, whole)
            else:
                self.fs.lake.put(uri, whole)
        elif hasattr(self, "_writer"):
            self._writer.close()

    def commit(self) -> None:
        """Publishes the object (called when the transaction it was opened in commits)."""
        if not self.closed:
            # Still open: what was written so far is the file.
            self.close()
        if getattr(self, "_failed", False):
            raise OSError(f"the write to {self.fs._uri(self.path)} failed; nothing was published")
        self._publish()

    def discard(self) -> None:
        """Abandons the upload: nothing appears at the path."""
        self.__dict__.pop("_whole", None)
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.abort()

    def __exit__(self, exc_type, exc, tb):  # type: ignore[no-untyped-def]
        if exc_type is not None and self.mode != "rb" and not self.closed:
            # An exception inside ``with``: publish nothing (a partial file would replace a
            # good one).
            self.discard()
            self.closed = True
            return False
        return super().__exit__(exc_type, exc, tb)

    def close(self) -> None:
        if getattr(self, "_failed", False) and not self.closed:
            self.closed = True
            return
        super().close()
