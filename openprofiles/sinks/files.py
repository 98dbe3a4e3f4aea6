"""Result files (segment snapshots, identity resolution exports) delivered to their destination.

A destination is a folder named by a URI:

- ``s3://BUCKET/PREFIX``: the file is uploaded to ``PREFIX/NAME`` through the App's S3 client
  (openprofiles.sinks.aws: ``OPENPROFILES_S3_ENDPOINT_URL`` points it at a moto server or
  LocalStack), with SSE-KMS under the given key when there is one;
- ``file:///PATH``: the file is written to ``PATH/NAME`` on the server's own disk, under a
  temporary name first and then moved into place, so a reader never sees half a file.

A server without S3 can keep S3 destinations on its disk: with ``OPENPROFILES_S3_ENDPOINT_URL``
set to a ``file:///FOLDER`` URI, ``s3://BUCKET/KEY`` is written to ``FOLDER/BUCKET/KEY`` (the
way to have identity resolution exports, whose ExportingConfig names an S3 bucket, written
locally).

The caller writes the file locally first (`scratch_file`), then `deliver` moves it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

SCHEMES = ("s3", "file")


class DestinationError(Exception):
    """A destination URI that names no usable place, or a delivery that failed."""


def check_destination(uri: str) -> None:
    """Refuse a URI no file can be delivered to (called when the job is asked for)."""
    parts = urlsplit(uri)
    if parts.scheme not in SCHEMES:
        raise DestinationError(f"'{uri}' is not an s3:// or file:// URI")
    if parts.scheme == "s3" and not parts.netloc:
        raise DestinationError(f"'{uri}' names no S3 bucket")
    if parts.scheme == "file" and (parts.netloc not in ("", "localhost") or not parts.path.startswith("/")):
        raise DestinationError(f"'{uri}' is not an absolute file:// path on this server")


def location(uri: str, name: str) -> tuple[str, str]:
    """(bucket or folder, key or path) of the file ``name`` under the destination ``uri``."""
    parts = urlsplit(uri)
    if parts.scheme == "s3":
        prefix = parts.path.strip("/")
        return parts.netloc, f"{prefix}/{name}" if prefix else name
    folder = unquote(parts.path)
    return folder, str(Path(folder) / name)


@contextmanager
def scratch_file(suffix: str) -> Iterator[Path]:
    """A local file to write a result into, removed afterwards."""
    handle, path = tempfile.mkstemp(prefix="openprofiles-", suffix=suffix)
    os.close(handle)
    try:
        yield Path(path)
    finally:
        Path(path).unlink(missing_ok=True)


def deliver(clients: Any, uri: str, name: str, local: Path, encryption_key: str | None = None) -> str:
    """Put ``local`` at ``uri``/``name``; the URI of the delivered file."""
    check_destination(uri)
    where, key = location(uri, name)
    local_s3 = clients.settings.endpoint_urls.get("s3", "")
    if urlsplit(uri).scheme == "s3" and local_s3.startswith("file://"):
        _copy(local, Path(unquote(urlsplit(local_s3).path)) / where / key)
        return f"s3://{where}/{key}"
    if urlsplit(uri).scheme == "s3":
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": encryption_key} if encryption_key else {}
        try:
            clients.get("s3").upload_file(str(local), where, key, ExtraArgs=extra or None)
        except (Boto3Error, BotoCoreError, ClientError) as error:
            raise DestinationError(f"could not write s3://{where}/{key}: {error}") from error
        return f"s3://{where}/{key}"
    target = Path(key)
    _copy(local, target)
    return target.as_uri()


def _copy(local: Path, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(local, partial)
        os.replace(partial, target)
    except OSError as error:
        raise DestinationError(f"could not write {target}: {error.strerror or error}") from error
