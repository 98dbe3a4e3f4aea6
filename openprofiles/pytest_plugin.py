"""A pytest fixture for projects that test against openprofiles in-process.

``def test_x(profiles_mock): boto3.client("customer-profiles", region_name="us-east-1")...``
The fixture yields the mock's App (its ``clock`` and ``store`` are there for tests that need them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openprofiles.app import App


@pytest.fixture
def profiles_mock() -> Iterator[App]:
    from openprofiles.mock import mock_profiles

    with mock_profiles() as app:
        yield app
