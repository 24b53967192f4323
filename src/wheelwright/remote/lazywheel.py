"""Read one member of a remote wheel with HTTP range requests: a 900 MB torch wheel's METADATA
costs a few kilobytes, which is what lets the resolver and the lint see GPU packages' pins."""

from __future__ import annotations

import http.client
import io
import urllib.error
import urllib.request
import zipfile
from typing import TYPE_CHECKING

from wheelwright.errors import SourceError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class _RangeFile(io.RawIOBase):
    """A seekable, read-only view of a remote file; each read is one Range request."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.position = 0
        self.size = self._size()

    def _open(self, headers: dict[str, str]) -> http.client.HTTPResponse:
        request = urllib.request.Request(self.url, headers={"User-Agent": "wheelwright", **headers})
        response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=self.timeout)
        return response

    def _size(self) -> int:
        with self._open({"Range": "bytes=-1"}) as response:
            content_range = response.headers.get("Content-Range", "")
            if response.status != 206 or "/" not in content_range:
                raise SourceError(f"{self.url}: server does not support range requests")
            return int(content_range.rsplit("/", 1)[1])

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: WriteableBuffer) -> int:
        buffer = memoryview(buffer)
        if self.position >= self.size or len(buffer) == 0:
            return 0
        end = min(self.size, self.position + max(len(buffer), 1 << 16)) - 1
        with self._open({"Range": f"bytes={self.position}-{end}"}) as response:
            data = response.read()
        count = min(len(buffer), len(data))
        buffer[:count] = data[:count]
        self.position += count
        return count


def read_remote_wheel_metadata(url: str, filename: str, timeout: float = 60.0) -> bytes:
    try:
        remote = io.BufferedReader(_RangeFile(url, timeout), buffer_size=1 << 16)
        with zipfile.ZipFile(remote) as wheel:
            names = [n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if len(names) != 1:
                raise SourceError(f"{filename}: expected one .dist-info/METADATA, found {len(names)}")
            return wheel.read(names[0])
    except (urllib.error.URLError, TimeoutError, OSError, zipfile.BadZipFile) as exc:
        raise SourceError(f"{filename}: cannot read its METADATA remotely: {exc}") from None
