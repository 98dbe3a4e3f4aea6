"""Loads the botocore service models that this server implements, with our patches applied.

The models are the specification: routes, shapes, constraints and error codes all come from them.
A gap in a model is fixed by an RFC 6902 patch in ``spec_patches.json`` (applied on load), never by
code beside the model. Loading is lazy and cached: nothing is read at import time.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import jsonpatch
from botocore.loaders import Loader
from botocore.model import ServiceModel

#: The services served, by the signing name found in a SigV4 credential scope.
SIGNING_NAMES = {"profile": "customer-profiles", "connect": "connect"}
SERVICES = tuple(SIGNING_NAMES.values())


@functools.cache
def _patch_data() -> dict[str, dict]:
    text = resources.files(__package__).joinpath("spec_patches.json").read_text("utf-8")
    return json.loads(text)


@functools.cache
def service_model(name: str) -> ServiceModel:
    """The botocore model of ``name`` ("customer-profiles" or "connect"), patched."""
    raw = Loader().load_service_model(name, "service-2")
    patches = _patch_data().get(name, {}).get("patches", [])
    if patches:
        raw = jsonpatch.apply_patch(raw, patches, in_place=True)
    return ServiceModel(raw, service_name=name)


def json_string_shapes(name: str) -> frozenset[str]:
    """Names of string shapes whose values must parse as JSON."""
    return frozenset(_patch_data().get(name, {}).get("json_strings", ()))
