"""In-process mode: decorator, context manager, pytest fixture, no socket, and moto alongside."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.exceptions import ClientError

import openprofiles
from openprofiles.mock import mock_profiles


def client(service="customer-profiles"):
    return boto3.client(service, region_name="us-east-1")


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the mock opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_context_manager_needs_no_socket(no_network):
    with openprofiles.mock_profiles():
        profiles = client()
        profiles.create_domain(DomainName="demo", DefaultExpirationDays=365)
        assert [d["DomainName"] for d in profiles.list_domains()["Items"]] == ["demo"]


def test_each_mock_starts_empty():
    with mock_profiles():
        client().create_domain(DomainName="first", DefaultExpirationDays=1)
    with mock_profiles():
        assert client().list_domains()["Items"] == []


@mock_profiles()
def test_decorator():
    profiles = client()
    profiles.create_domain(DomainName="decorated", DefaultExpirationDays=1)
    assert profiles.get_domain(DomainName="decorated")["DomainName"] == "decorated"


def test_pytest_fixture(profiles_mock):
    client().create_domain(DomainName="fixture", DefaultExpirationDays=1)
    assert profiles_mock.gateway is not None
    assert client().get_domain(DomainName="fixture")["DefaultExpirationDays"] == 1


def test_nested_mocks_answer_from_the_innermost():
    with mock_profiles():
        client().create_domain(DomainName="outer", DefaultExpirationDays=1)
        with mock_profiles():
            assert client().list_domains()["Items"] == []
        assert [d["DomainName"] for d in client().list_domains()["Items"]] == ["outer"]


def test_errors_are_client_errors():
    with mock_profiles():
        with pytest.raises(ClientError) as excinfo:
            client().get_domain(DomainName="missing")
        assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_unimplemented_operation_answers_501_naming_it():
    with mock_profiles():
        with pytest.raises(ClientError) as excinfo:
            client("connect").describe_instance(InstanceId="abc")
        error = excinfo.value.response
        assert error["Error"]["Code"] == "NotImplementedException"
        assert "DescribeInstance" in error["Error"]["Message"]
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_fake_credentials_are_restored(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    import os

    with mock_profiles():
        assert os.environ["AWS_ACCESS_KEY_ID"]
    assert "AWS_ACCESS_KEY_ID" not in os.environ


def test_composes_with_moto_mock_aws():
    moto = pytest.importorskip("moto")
    with moto.mock_aws(), mock_profiles():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="exports")  # answered by moto
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["exports"]
        client().create_domain(DomainName="both", DefaultExpirationDays=1)  # answered by us
        assert client().get_domain(DomainName="both")["DomainName"] == "both"
        # Connect too is ours while both are active, though moto also implements it
        with pytest.raises(ClientError) as excinfo:
            client("connect").describe_instance(InstanceId="abc")
        assert excinfo.value.response["Error"]["Code"] == "NotImplementedException"
    with moto.mock_aws(), mock_profiles():
        assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []
