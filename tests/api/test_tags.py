"""Tags of both services through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def domain_arn(door, name, region="us-east-1"):
    return f"arn:aws:profile:{region}:{door.account}:domains/{name}"


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_tag_untag_list(door, profiles, unique):
    name = unique("tagged")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=1, Tags={"a": "1"})
    arn = domain_arn(door, name)
    profiles.tag_resource(resourceArn=arn, tags={"b": "2", "a": "one"})
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {"a": "one", "b": "2"}
    profiles.untag_resource(resourceArn=arn, tagKeys=["a", "missing"])
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    assert profiles.get_domain(DomainName=name)["Tags"] == {"b": "2"}
    profiles.update_domain(DomainName=name, Tags={"c": "3"})
    assert profiles.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2", "c": "3"}


def test_at_most_fifty_tags(door, profiles, unique):
    name = unique("many")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=1, Tags={f"k{i}": "v" for i in range(30)})
    arn = domain_arn(door, name)
    with pytest.raises(ClientError) as excinfo:
        profiles.tag_resource(resourceArn=arn, tags={f"n{i}": "v" for i in range(21)})
    assert code_of(excinfo) == "BadRequestException"
    assert "50" in excinfo.value.response["Error"]["Message"]
    assert len(profiles.list_tags_for_resource(resourceArn=arn)["tags"]) == 30  # nothing written
    profiles.tag_resource(resourceArn=arn, tags={f"n{i}": "v" for i in range(20)})
    assert len(profiles.list_tags_for_resource(resourceArn=arn)["tags"]) == 50


def test_aws_prefix_is_reserved(door, profiles, connect, unique):
    name = unique("reserved")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=1)
    with pytest.raises(ClientError) as excinfo:
        profiles.tag_resource(resourceArn=domain_arn(door, name), tags={"aws:owner": "me"})
    assert code_of(excinfo) == "BadRequestException"
    with pytest.raises(ClientError) as excinfo:
        profiles.create_domain(DomainName=unique("r2"), DefaultExpirationDays=1, Tags={"aws:x": "y"})
    assert code_of(excinfo) == "BadRequestException"


def test_unknown_resources(door, profiles, connect, unique):
    with pytest.raises(ClientError) as excinfo:
        profiles.list_tags_for_resource(resourceArn=domain_arn(door, unique("nope")))
    assert code_of(excinfo) == "ResourceNotFoundException"
    # another account's domain is not ours to tag
    name = unique("theirs")
    profiles.create_domain(DomainName=name, DefaultExpirationDays=1)
    foreign = f"arn:aws:profile:us-east-1:999999999999:domains/{name}"
    with pytest.raises(ClientError) as excinfo:
        profiles.tag_resource(resourceArn=foreign, tags={"a": "b"})
    assert code_of(excinfo) == "ResourceNotFoundException"
    # Connect has no taggable resource of this account yet
    instance = f"arn:aws:connect:us-east-1:{door.account}:instance/{unique('i')}"
    with pytest.raises(ClientError) as excinfo:
        connect.tag_resource(resourceArn=instance, tags={"a": "b"})
    assert code_of(excinfo) == "ResourceNotFoundException"


def test_malformed_arn_names_the_field(profiles):
    with pytest.raises(ClientError) as excinfo:
        profiles.list_tags_for_resource(resourceArn="not-an-arn")
    assert code_of(excinfo) == "BadRequestException"
    assert "'resourceArn'" in excinfo.value.response["Error"]["Message"]


def test_connect_validation_error(connect):
    with pytest.raises(ClientError) as excinfo:
        connect.untag_resource(resourceArn="arn:aws:connect:us-east-1:123456789012:instance/x", tagKeys=["k" * 129])
    assert code_of(excinfo) == "InvalidParameterException"
