"""lakeroute: one lake over AWS S3 and Azure Data Lake.

Datasets are declared in a catalog (YAML files in git) and addressed by logical URIs,
``lake://<domain>/<dataset>/v<N>/<key>``, never by bucket or account::

    import lakeroute
    lake = lakeroute.Lake("catalog/")          # or LAKEROUTE_CATALOG
    lake.put("lake://finance/customer/v1/notes.txt", b"hello")
    data = lake.get("lake://finance/customer/v1/notes.txt")   # zero-copy buffer
    with lake.open("lake://finance/customer/v1/big.bin", "wb") as f:
        f.write(b"...")

After ``pip install lakeroute``, pandas, pyarrow, polars and Dask read ``lake://`` paths through
fsspec (see :mod:`lakeroute.fsspec`). Every operation has an ``_async`` twin for asyncio.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from . import exceptions
from ._lakeroute import Bytes, Writer, __version__
from ._lakeroute import Lake as _Lake
from .exceptions import *  # noqa: F403

__all__ = ["Lake", "Bytes", "Writer", "__version__", "exceptions", *exceptions.__all__]

_READ_BLOCK = 4 * 1024 * 1024
_WRITE_BUFFER = 8 * 1024 * 1024


class _RangeReader(io.RawIOBase):
    """Raw, seekable reads of one object through ranged GETs."""

    def __init__(self, lake: _Lake, uri: str) -> None:
        super().__init__()
        self._lake, self._uri = lake, uri
        self._size = lake.head(uri)["size"]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        view = memoryview(buffer).cast("B")
        end = min(self._pos + len(view), self._size)
        if end <= self._pos:
            return 0
        data = self._lake.get_range(self._uri, self._pos, end)
        n = len(data)
        view[:n] = memoryview(data)
        self._pos += n
        return n

    def readall(self) -> bytes:
        """The rest of the object in one ranged GET (``RawIOBase`` would ask 8 KiB at a time)."""
        if self._pos >= self._size:
            return b""
        data = self._lake.get_range(self._uri, self._pos, self._size)
        self._pos += len(data)
        return bytes(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


class _StreamWriter(io.RawIOBase):
    """Raw writes into a streaming multipart upload; visible only after ``close()``."""

    def __init__(self, lake: _Lake, uri: str) -> None:
        super().__init__()
        self._writer = lake.writer(uri)
        self._pos = 0
        self._failed = False

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def]
        try:
            n = self._writer.write(data)
        except BaseException:
            self._failed = True
            raise
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            try:
                if self._failed:
                    self._writer.abort()
                else:
                    self._writer.close()
            finally:
                super().close()

    def abort(self) -> None:
        """Drops everything written so far; nothing appears at the URI."""
        self._failed = True
        self.close()


class _AbortingBufferedWriter(io.BufferedWriter):
    """A buffered writer that abandons the upload when its ``with`` block raises."""

    def __exit__(self, exc_type, exc, tb):  # type: ignore[no-untyped-def]
        if exc_type is not None:
            raw = self.raw
            if isinstance(raw, _StreamWriter):
                raw.abort()
            return False
        return super().__exit__(exc_type, exc, tb)


class Lake(_Lake):
    """The lake: a catalog of datasets and the stores it routes to.

    ``Lake(catalog=None, environment=None)``: ``catalog`` is the catalog folder (default
    ``LAKEROUTE_CATALOG``; without one only physical URIs resolve); ``environment`` one of its
    environments (default ``LAKEROUTE_ENV``, then the catalog's default). Picklable: it pickles
    its catalog folder and environment, never credentials, and rebuilds where it is unpickled.
    """

    def open(self, uri: str, mode: str = "rb") -> BinaryIO:
        """A binary file object: ``"rb"`` is seekable with read-ahead; ``"wb"`` streams the
        upload in parts and publishes the object on ``close()`` (an exception inside a ``with``
        block publishes nothing)."""
        if mode == "rb":
            return io.BufferedReader(_RangeReader(self, uri), buffer_size=_READ_BLOCK)  # type: ignore[return-value]
        if mode == "wb":
            return _AbortingBufferedWriter(_StreamWriter(self, uri), buffer_size=_WRITE_BUFFER)  # type: ignore[return-value]
        raise ValueError(f"mode {mode!r} is not supported; use 'rb' or 'wb'")

    def info(self, uri: str) -> dict:
        """Like :meth:`head`."""
        return self.head(uri)

    def put(self, uri: str, data) -> dict:  # type: ignore[override,no-untyped-def]
        """Writes ``data``: a buffer (bytes, bytearray, memoryview, numpy array) in one request,
        or a binary file object streamed in parts."""
        if hasattr(data, "read"):
            written = 0
            with self.open(uri, "wb") as out:
                while chunk := data.read(_WRITE_BUFFER):
                    written += out.write(chunk)
            return {**self.head(uri), "size": written}
        return super().put(uri, data)
