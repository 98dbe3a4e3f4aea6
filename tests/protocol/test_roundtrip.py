"""What botocore writes, openprofiles reads back unchanged; what openprofiles writes, botocore
reads.

Requests: params are serialized by botocore's own rest-json serializer, routed by ``Router`` and
parsed by ``parse_request``; the result must equal the params (timestamps as aware datetimes).
Responses: ``serialize_result`` of a dict, parsed by botocore's rest-json parser, must give the
dict back; ``serialize_error`` must give botocore the code, the message and the modeled members.
Hand-written cases cover the rich operations; generated ones cover every operation of both models.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.awsrequest import HeadersDict
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from openprofiles import errors
from openprofiles.errors import ServiceError
from openprofiles.protocol.messages import HttpResponse
from openprofiles.protocol.parser import parse_request
from openprofiles.protocol.router import Router
from openprofiles.protocol.serializer import serialize_error, serialize_result
from openprofiles.protocol.specs import SERVICES, json_string_shapes, service_model
from tests.protocol.wire import SAMPLE_TIME, Sampler, all_operations, to_http_request

_PARSER = create_parser("rest-json")
INSTANCE = "8f6a4a3c-1b2d-4e5f-9a0b-1c2d3e4f5a6b"
FLOW = "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
ARN_PROFILE = "arn:aws:profile:us-east-1:123456789012:domains/demo"
ARN_CONNECT = f"arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}/contact-flow/{FLOW}"


@functools.cache
def router(service: str) -> Router:
    return Router(service_model(service))


def operation_of(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


def server_reads(service: str, name: str, params: dict[str, Any], **send: Any) -> dict[str, Any]:
    """Params as botocore sends them, then routed and parsed as the gateway does."""
    operation = operation_of(service, name)
    request = to_http_request(operation, params, service, **send)
    found = router(service).match(request.method, request.raw_path, request.query())
    assert found is not None, f"{request.method} {request.raw_path} routes nowhere"
    routed, labels = found
    assert routed.name == name
    return parse_request(routed, request, labels)


def wire(response: HttpResponse) -> dict[str, Any]:
    """The response dict botocore's parsers read (its headers are case-insensitive)."""
    headers = HeadersDict(response.headers)
    return {"status_code": response.status, "headers": headers, "body": response.body}


def client_reads(operation: OperationModel, response: HttpResponse) -> dict[str, Any]:
    """A response as botocore's client parses it, without its ResponseMetadata."""
    parsed = _PARSER.parse(wire(response), operation.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


# --- requests -------------------------------------------------------------------------------

MATCHING = {
    "Enabled": True,
    "JobSchedule": {"DayOfTheWeek": "SUNDAY", "Time": "03:30"},
    "AutoMerging": {
        "Enabled": True,
        "Consolidation": {"MatchingAttributesList": [["EmailAddress"], ["FirstName", "LastName"]]},
        "ConflictResolution": {"ConflictResolvingModel": "SOURCE", "SourceName": "crm"},
        "MinAllowedConfidenceScoreForMerging": 0.85,
    },
    "ExportingConfig": {"S3Exporting": {"S3BucketName": "exports", "S3KeyName": "matches/"}},
}
RULE_BASED = {
    "Enabled": True,
    "MatchingRules": [{"Rule": ["EmailAddress"]}, {"Rule": ["PhoneNumber", "LastName"]}],
    "MaxAllowedRuleLevelForMerging": 2,
    "MaxAllowedRuleLevelForMatching": 3,
    "AttributeTypesSelector": {"AttributeMatchingModel": "ONE_TO_ONE", "EmailAddress": ["Email"]},
    "ConflictResolution": {"ConflictResolvingModel": "RECENCY"},
}

REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "customer-profiles",
        "CreateDomain",
        {
            "DomainName": "demo_domain-1",
            "DefaultExpirationDays": 365,
            "DefaultEncryptionKey": "arn:aws:kms:us-east-1:123456789012:key/abc",
            "DeadLetterQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
            "Matching": MATCHING,
            "RuleBasedMatching": RULE_BASED,
            "DataStore": {"Enabled": False},
            "Tags": {"team": "crm", "cost center": "näive/ü + 100%"},
        },
    ),
    (
        "customer-profiles",
        "UpdateDomain",
        {
            "DomainName": "demo",
            "DefaultExpirationDays": 30,
            "Matching": {"Enabled": False},
            "RuleBasedMatching": {"Enabled": False, "MatchingRules": [{"Rule": ["Address"]}]},
            "Tags": {"k": ""},
        },
    ),
    (
        "customer-profiles",
        "PutProfileObjectType",
        {
            "DomainName": "demo",
            "ObjectTypeName": "Order_v2",
            "Description": "Orders from the shop",
            "ExpirationDays": 90,
            "EncryptionKey": "",
            "AllowProfileCreation": True,
            "SourceLastUpdatedTimestampFormat": "yyyy-MM-dd'T'HH:mm:ss",
            "MaxProfileObjectCount": 100,
            "SourcePriority": 2,
            "Fields": {
                "email": {"Source": "_source.email", "Target": "_profile.EmailAddress",
                          "ContentType": "EMAIL_ADDRESS"},
                "id": {"Source": "_source.id", "Target": "_order.id", "ContentType": "STRING"},
            },
            "Keys": {
                "_email": [{"StandardIdentifiers": ["PROFILE", "UNIQUE"], "FieldNames": ["email"]}],
                "_order": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["id"]}],
            },
            "Tags": {"a": "b"},
        },
    ),
    (
        "customer-profiles",
        "SearchProfiles",
        {
            "DomainName": "demo",
            "NextToken": "eyJvZmZzZXQiOiAxMH0=/+",
            "MaxResults": 25,
            "KeyName": "_email",
            "Values": ["a@example.com", "b+tag@example.com"],
            "AdditionalSearchKeys": [{"KeyName": "_phone", "Values": ["+15551234567"]}],
            "LogicalOperator": "OR",
        },
    ),
    ("customer-profiles", "ListDomains", {"NextToken": "a b&c=d+e/f%g", "MaxResults": 7}),
    ("customer-profiles", "ListDomains", {}),
    (
        "customer-profiles",
        "UntagResource",
        {"resourceArn": ARN_PROFILE, "tagKeys": ["team", "cost center", "a&b=c"]},
    ),
    (
        "customer-profiles",
        "ListWorkflows",
        {
            "DomainName": "demo",
            "WorkflowType": "APPFLOW_INTEGRATION",
            "Status": "COMPLETE",
            "QueryStartDate": datetime(2026, 1, 1, tzinfo=UTC),
            "QueryEndDate": datetime(2026, 2, 1, 12, 30, 15, tzinfo=UTC),
            "NextToken": "t",
            "MaxResults": 10,
        },
    ),
    (
        "connect",
        "CreateContactFlow",
        {
            "InstanceId": INSTANCE,
            "Name": "Main flow – Ünïcode",
            "Type": "CONTACT_FLOW",
            "Description": "the main one",
            "Content": '{"Version": "2019-10-30", "StartAction": "x", "Actions": []}',
            "Status": "SAVED",
            "Tags": {"env": "test"},
        },
    ),
    ("connect", "ListTagsForResource", {"resourceArn": ARN_CONNECT}),
    ("connect", "UntagResource", {"resourceArn": ARN_CONNECT, "tagKeys": ["env"]}),
    (
        "connect",
        "ListQueues",
        {"InstanceId": INSTANCE, "QueueTypes": ["STANDARD", "AGENT"], "MaxResults": 1000},
    ),
    (
        "connect",
        "ListContactFlows",
        {"InstanceId": INSTANCE, "ContactFlowTypes": ["CONTACT_FLOW", "AGENT_HOLD"],
         "NextToken": "n"},
    ),
    (
        "connect",
        "CreateTestCase",
        {
            "InstanceId": INSTANCE,
            "Name": "case",
            "Content": "{}",
            "Status": "SAVED",
            "TestCaseId": "3c4d5e6f-0000-1111-2222-333344445555",
            "LastModifiedTime": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
            "LastModifiedRegion": "us-west-2",
            "Tags": {"k": "v"},
        },
    ),
    (
        "connect",
        "UpdateTestCase",
        {
            "InstanceId": INSTANCE,
            "TestCaseId": "3c4d5e6f-0000-1111-2222-333344445555",
            "Name": "renamed",
            "LastModifiedTime": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
            "LastModifiedRegion": "eu-central-1",
        },
    ),
    (
        "connect",
        "GetMetricDataV2",
        {
            "ResourceArn": f"arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}",
            "StartTime": datetime(2026, 1, 1, tzinfo=UTC),
            "EndTime": datetime(2026, 1, 2, 23, 59, 59, tzinfo=UTC),
            "Interval": {"TimeZone": "Europe/Paris", "IntervalPeriod": "HOUR"},
            "Filters": [{"FilterKey": "QUEUE", "FilterValues": ["q1", "q2"]}],
            "Groupings": ["QUEUE"],
            "Metrics": [
                {
                    "Name": "SERVICE_LEVEL",
                    "Threshold": [{"Comparison": "LT", "ThresholdValue": 60.5}],
                    "MetricFilters": [
                        {"MetricFilterKey": "INITIATION_METHOD", "MetricFilterValues": ["INBOUND"],
                         "Negate": False}
                    ],
                }
            ],
            "MaxResults": 100,
        },
    ),
    (
        "connect",
        "CreateContactFlowVersion",
        {
            "InstanceId": INSTANCE,
            "ContactFlowId": FLOW,
            "Description": "v2",
            "ContactFlowVersion": 2,
            "LastModifiedTime": datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC),
            "LastModifiedRegion": "us-east-1",
        },
    ),
    (
        "connect",
        "DeleteContactFlowVersion",
        {"InstanceId": INSTANCE, "ContactFlowId": FLOW, "ContactFlowVersion": 12},
    ),
]


@pytest.mark.parametrize(
    ("service", "name", "params"),
    REQUESTS,
    ids=[f"{s}.{n}-{i}" for i, (s, n, _) in enumerate(REQUESTS)],
)
def test_request_roundtrip(service: str, name: str, params: dict[str, Any]) -> None:
    parsed = server_reads(service, name, params)
    assert parsed == params
    for key, value in params.items():
        if isinstance(value, datetime):
            assert parsed[key].tzinfo is not None


def test_millisecond_timestamps_survive() -> None:
    """SDKs that send epoch seconds with milliseconds (and the AWS CLI's ISO strings) parse."""
    start = datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    end = datetime(2026, 1, 1, 23, 59, 59, 999000, tzinfo=UTC)
    params = {"ResourceArn": "arn", "StartTime": start, "EndTime": end, "Metrics": []}
    precise = create_serializer(
        "rest-json", include_validation=False, timestamp_precision="millisecond"
    )
    parsed = server_reads("connect", "GetMetricDataV2", params, serializer=precise)
    assert (parsed["StartTime"], parsed["EndTime"]) == (start, end)


def test_timestamp_spellings() -> None:
    operation = operation_of("connect", "GetMetricDataV2")
    expected = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for spelling in (1767323045, 1767323045.0, "2026-01-02T03:04:05Z",
                     "2026-01-02T04:04:05+01:00", "Fri, 02 Jan 2026 03:04:05 GMT"):
        request = to_http_request(operation, {"ResourceArn": "arn", "Metrics": []})
        request.body = (
            b'{"ResourceArn": "arn", "Metrics": [], "StartTime": '
            + (f'"{spelling}"' if isinstance(spelling, str) else str(spelling)).encode()
            + b"}"
        )
        found = router("connect").match(request.method, request.raw_path, request.query())
        assert found is not None
        assert parse_request(found[0], request, found[1])["StartTime"] == expected, spelling


# --- responses ------------------------------------------------------------------------------

PARIS = timezone(timedelta(hours=1))
RESULTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "customer-profiles",
        "CreateDomain",
        {
            "DomainName": "demo",
            "DefaultExpirationDays": 365,
            "DefaultEncryptionKey": "arn:aws:kms:us-east-1:123456789012:key/abc",
            "Matching": MATCHING,
            "RuleBasedMatching": {**RULE_BASED, "Status": "PENDING"},
            "DataStore": {"Enabled": True, "Readiness": {"ProgressPercentage": 40, "Message": "m"}},
            "CreatedAt": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "LastUpdatedAt": datetime(2026, 1, 2, 4, 4, 5, 250000, tzinfo=PARIS),
            "Tags": {"team": "crm", "ü": "ö"},
        },
    ),
    (
        "customer-profiles",
        "GetDomain",
        {
            "DomainName": "demo",
            "DefaultExpirationDays": 1,
            "Stats": {"ProfileCount": 2**40, "MeteringProfileCount": 0, "ObjectCount": 3,
                      "TotalSize": 12345678901},
            "CreatedAt": SAMPLE_TIME,
            "LastUpdatedAt": SAMPLE_TIME,
        },
    ),
    (
        "customer-profiles",
        "ListDomains",
        {
            "Items": [
                {"DomainName": "a", "CreatedAt": SAMPLE_TIME, "LastUpdatedAt": SAMPLE_TIME,
                 "Tags": {"k": "v"}},
                {"DomainName": "b", "CreatedAt": SAMPLE_TIME, "LastUpdatedAt": SAMPLE_TIME},
            ],
            "NextToken": "next",
        },
    ),
    (
        "customer-profiles",
        "CreateSegmentEstimate",
        {"DomainName": "demo", "EstimateId": "e-1", "StatusCode": 202},
    ),
    (
        "customer-profiles",
        "GetSegmentEstimate",
        {"DomainName": "demo", "EstimateId": "e-1", "Status": "SUCCEEDED", "Estimate": "10",
         "StatusCode": 200},
    ),
    ("customer-profiles", "DeleteDomain", {"Message": "Domain demo was deleted"}),
    ("customer-profiles", "TagResource", {}),
    (
        "connect",
        "DescribeContactFlow",
        {
            "ContactFlow": {
                "Arn": ARN_CONNECT,
                "Id": FLOW,
                "Name": "Main",
                "Type": "CONTACT_FLOW",
                "State": "ACTIVE",
                "Status": "PUBLISHED",
                "Content": '{"Actions": []}',
                "Tags": {"env": "test"},
                "Version": 3,
                "LastModifiedTime": datetime(2026, 6, 7, 8, 9, 10, 500000, tzinfo=UTC),
                "LastModifiedRegion": "us-east-1",
            }
        },
    ),
    ("connect", "ListTagsForResource", {"tags": {"env": "test", "owner": "me"}}),
    (
        "connect",
        "ListRealtimeContactAnalysisSegmentsV2",
        {
            "Channel": "VOICE",
            "Status": "IN_PROGRESS",
            "Segments": [
                {
                    "Transcript": {
                        "Id": "t1",
                        "ParticipantId": "p1",
                        "ParticipantRole": "CUSTOMER",
                        "Content": "hello",
                        # an ISO 8601 timestamp member (timestampFormat in the model)
                        "Time": {"AbsoluteTime": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)},
                        "Redaction": {"CharacterOffsets": [{"BeginOffsetChar": 0,
                                                            "EndOffsetChar": 5}]},
                    }
                },
                {"Categories": {"MatchedDetails": {"greeting": {"PointsOfInterest": []}}}},
            ],
        },
    ),
    ("connect", "CreateTestCase", {"TestCaseId": "t-1", "TestCaseArn": "arn:aws:connect:x"}),
    ("connect", "UpdateTestCase", {}),
]


@pytest.mark.parametrize(
    ("service", "name", "result"),
    RESULTS,
    ids=[f"{s}.{n}-{i}" for i, (s, n, _) in enumerate(RESULTS)],
)
def test_response_roundtrip(service: str, name: str, result: dict[str, Any]) -> None:
    operation = operation_of(service, name)
    response = serialize_result(operation, result, "req-1")
    assert response.headers["x-amzn-requestid"] == "req-1"
    assert client_reads(operation, response) == result


def test_status_code_member_sets_the_status() -> None:
    operation = operation_of("customer-profiles", "CreateSegmentEstimate")
    response = serialize_result(operation, {"EstimateId": "e", "StatusCode": 202}, "r")
    assert response.status == 202
    assert b"StatusCode" not in response.body
    assert client_reads(operation, response)["StatusCode"] == 202


def test_unknown_output_member_fails_loudly() -> None:
    operation = operation_of("customer-profiles", "CreateDomain")
    with pytest.raises(KeyError, match="Bogus"):
        serialize_result(operation, {"DomainName": "d", "Bogus": 1}, "r")
    with pytest.raises(KeyError, match="Nope"):
        serialize_result(operation, {"Matching": {"Enabled": True, "Nope": 1}}, "r")


# Neither pinned model has an output member in a header, so a small model of our own carries
# every kind the serializer writes to headers (botocore's default header timestamp is RFC 7231).
HEADER_MODEL = ServiceModel(
    {
        "metadata": {"protocol": "rest-json", "apiVersion": "2026-01-01", "endpointPrefix": "x",
                     "serviceId": "X", "signatureVersion": "v4"},
        "operations": {
            "Op": {
                "name": "Op",
                "http": {"method": "GET", "requestUri": "/op", "responseCode": 200},
                "output": {"shape": "OpOutput"},
            }
        },
        "shapes": {
            "OpOutput": {
                "type": "structure",
                "members": {
                    "LastModifiedTime": {"shape": "Time", "location": "header",
                                         "locationName": "x-amz-last-modified-time"},
                    "Region": {"shape": "Text", "location": "header",
                               "locationName": "X-Amz-Last-Modified-Region"},
                    "Count": {"shape": "Count", "location": "header", "locationName": "x-count"},
                    "Flag": {"shape": "Flag", "location": "header", "locationName": "x-flag"},
                    "Body": {"shape": "Text", "locationName": "body"},
                },
            },
            "Time": {"type": "timestamp"},
            "Text": {"type": "string"},
            "Count": {"type": "integer"},
            "Flag": {"type": "boolean"},
        },
    },
    service_name="x",
)


def test_header_members_roundtrip() -> None:
    operation = HEADER_MODEL.operation_model("Op")
    result = {
        "LastModifiedTime": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
        "Region": "us-west-2",
        "Count": 3,
        "Flag": False,
        "Body": "renamed in the body",
    }
    response = serialize_result(operation, result, "r")
    assert response.headers["x-amz-last-modified-time"] == "Wed, 04 Mar 2026 05:06:07 GMT"
    assert response.headers["x-amz-last-modified-region"] == "us-west-2"
    assert b'"body"' in response.body
    assert client_reads(operation, response) == result


# --- errors ---------------------------------------------------------------------------------


def _error_class(code: str) -> type[ServiceError]:
    return getattr(errors, code, None) or type(code, (ServiceError,), {"code": code})


def client_reads_error(
    model: ServiceModel, operation: OperationModel, response: HttpResponse
) -> dict[str, Any]:
    """The error as a botocore client sees it: Error, plus the modeled members of its shape."""
    parsed = client_reads(operation, response)
    shape = model.shape_for_error_code(parsed["Error"]["Code"])
    if shape is not None:
        parsed.update(_PARSER.parse(wire(response), shape))
    return parsed


ERROR_SHAPES = [(s, shape.name) for s in SERVICES for shape in service_model(s).error_shapes]


@pytest.mark.parametrize(
    ("service", "code"), ERROR_SHAPES, ids=[f"{s}.{c}" for s, c in ERROR_SHAPES]
)
def test_every_error_shape(service: str, code: str) -> None:
    model = service_model(service)
    operation = model.operation_model("ListTagsForResource")
    shape = model.shape_for(code)
    response = serialize_error(model, _error_class(code)("it went wrong: ü"), "req-9")
    assert response.status == shape.metadata["error"]["httpStatusCode"]
    assert response.headers["x-amzn-errortype"] == code
    parsed = client_reads(operation, response)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == "it went wrong: ü"


def test_bad_request_reaches_botocore() -> None:
    model = service_model("customer-profiles")
    operation = model.operation_model("CreateDomain")
    response = serialize_error(model, errors.BadRequestException("no good"), "r")
    assert response.status == 400
    error = client_reads_error(model, operation, response)
    assert error["Error"] == {"Code": "BadRequestException", "Message": "no good"}


def test_invalid_contact_flow_carries_its_problems() -> None:
    model = service_model("connect")
    operation = model.operation_model("CreateContactFlow")
    problems = [{"message": "Action x is not valid"}, {"message": "StartAction is missing"}]
    error = errors.InvalidContactFlowException("The flow is not valid", problems=problems)
    response = serialize_error(model, error, "r")
    assert response.status == 400
    parsed = client_reads_error(model, operation, response)
    assert parsed["Error"]["Code"] == "InvalidContactFlowException"
    assert parsed["Error"]["Message"] == "The flow is not valid"
    assert parsed["problems"] == problems


def test_modeled_error_members_and_unknown_members() -> None:
    model = service_model("connect")
    operation = model.operation_model("DeleteQueue")
    error = _error_class("ResourceInUseException")(
        "in use", ResourceType="QUEUE", ResourceId="q-1", NotModeled="dropped"
    )
    parsed = client_reads_error(model, operation, serialize_error(model, error, "r"))
    assert parsed["ResourceType"] == "QUEUE"
    assert parsed["ResourceId"] == "q-1"
    assert "NotModeled" not in parsed


def test_protocol_errors_outside_the_models() -> None:
    for error, status in (
        (errors.UnknownOperationException("no route"), 404),
        (errors.NotImplementedException("later"), 501),
        (errors.SerializationException("not JSON"), 400),
    ):
        for model in (None, service_model("connect")):
            response = serialize_error(model, error, "r")
            assert response.status == status
            operation = service_model("connect").operation_model("ListTagsForResource")
            parsed = client_reads(operation, response)
            assert parsed["Error"] == {"Code": error.code, "Message": error.message}


# --- every operation of both models ---------------------------------------------------------

OPERATIONS = all_operations()
_IDS = [f"{service}.{operation.name}" for service, operation in OPERATIONS]


def rich_value(service: str, shape: Any) -> dict[str, Any]:
    """Every member down to three levels of nesting, each with a valid value."""
    return Sampler(json_string_shapes(service), full_depth=3).structure(shape)


@pytest.mark.parametrize(("service", "operation"), OPERATIONS, ids=_IDS)
def test_every_input_roundtrips(service: str, operation: OperationModel) -> None:
    params = rich_value(service, operation.input_shape)
    assert server_reads(service, operation.name, params) == params


WITH_OUTPUT = [(s, op) for s, op in OPERATIONS if op.output_shape is not None]


@pytest.mark.parametrize(
    ("service", "operation"), WITH_OUTPUT, ids=[f"{s}.{op.name}" for s, op in WITH_OUTPUT]
)
def test_every_output_roundtrips(service: str, operation: OperationModel) -> None:
    result = rich_value(service, operation.output_shape)
    for name, member in operation.output_shape.members.items():
        if member.serialization.get("location") == "statusCode":
            result[name] = 201
    response = serialize_result(operation, result, "r")
    assert client_reads(operation, response) == result
