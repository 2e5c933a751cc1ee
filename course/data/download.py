"""Network access: the official Keras download, bounded in time, atomic and verified.

- ``_urlopen``: the only place the package touches the network (tests replace
  it); the DNS lookup is bounded by ``DNS_TIMEOUT_S``, the connection and each
  read by ``CONNECT_TIMEOUT_S``;
- ``_download``: writes to a temporary file beside the destination and moves it
  into place only once its SHA-256 matches (``_DOWNLOAD_SHA256`` for the file,
  ``_CONTENT_SHA256`` for a gzip file's decompressed content); any failure
  raises ``_DownloadFailed`` with the reason;
- ``_offline``: ``COURSE_OFFLINE=1`` skips the network entirely.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..runtime import env_flag
from .sources import CorruptDatasetError, _gunzip

# --------------------------------------------------------------------------- constants

KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# SHA-256 a downloaded file must have before it is kept in the Keras cache.
# mnist.npz: the hash Keras itself pins in keras/src/datasets/mnist.py.
_DOWNLOAD_SHA256 = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
}
# Keras pins no hash for Fashion-MNIST. Its .gz files may be recompressed by a
# mirror, so we check the SHA-256 of the *decompressed* IDX bytes instead. These
# were computed from the offline kit's files, whose decompressed MD5s equal the
# ones published for the official files (torchvision's FashionMNIST raw files:
# f4a8712d..., 9018921c..., 8181f547..., 15d48437...).
_CONTENT_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

CONNECT_TIMEOUT_S = 5.0  # socket timeout for connecting and for each read
DNS_TIMEOUT_S = 3.0  # getaddrinfo ignores socket timeouts, so it gets its own bound


# --------------------------------------------------------------------------- network


def _offline() -> bool:
    return env_flag("COURSE_OFFLINE")


class _DownloadFailed(Exception):
    """A download did not produce a verified file; the message is the reason."""


def _connect_host(url: str) -> str | None:
    """The host a connection to ``url`` really goes to (the proxy's, when one applies)."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        return urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}").hostname
    return parts.hostname


def _resolve_quickly(host: str, timeout: float) -> None:
    """Resolve ``host`` or raise OSError within ``timeout`` seconds (DNS ignores socket timeouts)."""
    outcome: list = []

    def lookup():
        try:
            outcome.append(socket.getaddrinfo(host, 443))
        except OSError as e:
            outcome.append(e)

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise OSError(f"DNS lookup of {host} took longer than {timeout:g} s")
    if isinstance(outcome[0], OSError):
        raise OSError(f"DNS lookup of {host} failed ({outcome[0]})")


def _urlopen(url: str, timeout: float):
    """Open ``url``; the only place this package touches the network (tests replace it)."""
    host = _connect_host(url)
    if host:
        _resolve_quickly(host, DNS_TIMEOUT_S)
    return urllib.request.urlopen(url, timeout=timeout)


def reachable(url: str) -> str | None:
    """None when ``url`` answers within ``CONNECT_TIMEOUT_S`` (nothing is downloaded: the response is closed
    after its headers), else the reason it does not. Loaders call it before handing a download to Keras,
    whose own download has no short timeout."""
    network_errors = (urllib.error.URLError, OSError, http.client.HTTPException, ValueError)
    try:
        _urlopen(url, CONNECT_TIMEOUT_S).close()
    except network_errors as e:
        return f"network error ({getattr(e, 'reason', None) or e})"
    return None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_download(fname: str, path: Path) -> None:
    """Raise _DownloadFailed unless the downloaded ``fname`` at ``path`` has the expected hash."""
    if fname in _DOWNLOAD_SHA256:
        expected, got, what = _DOWNLOAD_SHA256[fname], _sha256_file(path), "file"
    elif fname in _CONTENT_SHA256:
        try:
            content = _gunzip(path)
        except CorruptDatasetError as e:
            raise _DownloadFailed(f"refused: the download is not a valid gzip file ({e.__cause__})") from None
        expected, got, what = _CONTENT_SHA256[fname], hashlib.sha256(content).hexdigest(), "decompressed content"
    else:  # pragma: no cover - every file we download has a known hash
        raise _DownloadFailed(f"refused: no known SHA-256 for {fname}")
    if got != expected:
        raise _DownloadFailed(
            f"refused: SHA-256 mismatch of the {what} (got {got[:16]}..., "
            f"expected {expected[:16]}...); nothing was written to the cache"
        )


def _download(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` atomically after checking its SHA-256; raise _DownloadFailed.

    The connection is opened before anything is created on disk, so a machine
    without network is left untouched. The bytes go to a temporary file beside
    ``dest`` that replaces it only once the checksum matches.
    """
    network_errors = (urllib.error.URLError, OSError, http.client.HTTPException, ValueError)
    try:
        response = _urlopen(url, CONNECT_TIMEOUT_S)
    except network_errors as e:
        raise _DownloadFailed(f"network error ({getattr(e, 'reason', None) or e})") from None
    with response:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        except OSError as e:
            raise _DownloadFailed(f"cannot write to the cache folder {dest.parent} ({e})") from None
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        out.write(chunk)
                except network_errors as e:
                    raise _DownloadFailed(f"network error while downloading ({e})") from None
            _verify_download(dest.name, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                tmp.unlink()
