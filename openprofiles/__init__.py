"""openprofiles: a self-hosted, AWS-compatible Amazon Connect Customer Profiles.

The public surface is small: :func:`mock_profiles` for in-process tests and ``__version__``.
Everything else is reached through the AWS APIs (``openprofiles serve``).
"""

__version__ = "0.1.0"

__all__ = ["__version__", "mock_profiles"]


def __getattr__(name: str):  # lazy, so `import openprofiles` stays cheap
    if name == "mock_profiles":
        from openprofiles.mock import mock_profiles

        return mock_profiles
    raise AttributeError(name)
