"""boto3 clients for the AWS services openprofiles sends to: ``client(settings, service, ...)``.

- **Endpoint**: ``settings.endpoint_urls[service]`` when set, from
  ``OPENPROFILES_<SERVICE>_ENDPOINT_URL`` (``OPENPROFILES_SQS_ENDPOINT_URL=http://127.0.0.1:5000``
  for a moto server, ``http://localhost:4566`` for LocalStack). Otherwise boto3 resolves it as
  usual: AWS itself, unless boto3's own ``AWS_ENDPOINT_URL_<SERVICE>`` / ``AWS_ENDPOINT_URL``
  variables or config file say otherwise.
- **Region**: the one the resource names (an ARN's region field; a region label in a URL's host,
  as in ``https://sqs.eu-west-1.amazonaws.com/...``; the legacy ``https://queue.amazonaws.com`` is
  us-east-1), else ``settings.default_region``. A moto server's queue URLs
  (``http://127.0.0.1:5000/123456789012/name``) name no region: such queues are looked for in the
  default region.
- **Credentials**: boto3's normal chain (environment, shared config and credentials files, SSO,
  container and instance roles). Against real AWS these are the server's own credentials, which
  must be allowed to send to the queue (``sqs:SendMessage``; AWS's own service uses a queue policy
  for ``profile.amazonaws.com`` instead). Against a moto server or LocalStack any credentials
  work, e.g. ``AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test``.

Clients have short timeouts and one retry: their callers retry on their own schedule, and may hold
a transaction while they wait. Making a client costs milliseconds, so an App keeps one per
(service, region) in a ``Clients``.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import boto3
from botocore.config import Config

from openprofiles.config import Settings

CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 2}
)

#: a host label that is a region name: us-east-1, eu-central-2, us-gov-west-1, us-isob-east-1
_REGION_LABEL = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")


def region_of(resource: str | None, default: str) -> str:
    """The region an ARN or a service URL names, else ``default``."""
    if not resource:
        return default
    if resource.startswith("arn:"):
        parts = resource.split(":")
        return parts[3] if len(parts) > 3 and parts[3] else default
    host = resource.partition("://")[2].partition("/")[0].partition(":")[0].lower()
    labels = host.split(".")
    for label in labels:
        if _REGION_LABEL.fullmatch(label):
            return label
    if host == "queue.amazonaws.com":
        return "us-east-1"
    return default


def client(settings: Settings, service: str, resource: str | None = None) -> Any:
    """A boto3 client for ``service`` (a boto3 service name: ``sqs``, ``kinesis``, ...), in the
    region of ``resource`` (an ARN or URL) or the default one, at the configured endpoint."""
    return boto3.session.Session().client(
        service,
        region_name=region_of(resource, settings.default_region),
        endpoint_url=settings.endpoint_urls.get(service),
        config=CLIENT_CONFIG,
    )


class Clients:
    """The clients of one App, made on first use and kept: one per (service, region)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, service: str, resource: str | None = None) -> Any:
        key = (service, region_of(resource, self.settings.default_region))
        with self._lock:
            made = self._clients.get(key)
            if made is None:
                made = self._clients[key] = client(self.settings, service, resource)
            return made
