"""The generic AWS REST-JSON protocol, driven by botocore's service models.

Nothing here knows about profiles: routing, parsing, validation and serialization are read from the
models, and the gaps in the models are data (``spec_patches.json``), not code.
"""
