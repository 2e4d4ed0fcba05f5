"""Lambda events as each front door sends them, shaped after events AWS records and documents.

API Gateway REST (payload 1.0, the stage out of `path`), HTTP API (payload 2.0), a Lambda
Function URL (2.0, no stage) and an Application Load Balancer (optionally multi-value headers).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, quote_plus

ACCOUNT = "123456789012"
API_ID = "1234567890"
SOURCE_IP = "203.0.113.7"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"


def _body(body: bytes | None, base64_encoded: bool) -> str | None:
    if body is None:
        return None
    return base64.b64encode(body).decode() if base64_encoded else body.decode()


def rest_v1(
    method: str,
    path: str,
    *,
    stage: str = "prod",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: bytes | None = None,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event (`{proxy+}`): `path` without the stage."""
    host = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
    sent = {"Host": host, "User-Agent": USER_AGENT, "X-Forwarded-Proto": "https"} | (headers or {})
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": sent,
        "multiValueHeaders": {name: [value] for name, value in sent.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": (
            {name: [value] for name, value in query.items()} if query else None
        ),
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": API_ID,
            "extendedRequestId": "BQGojGkBoAMFL_w=",
            "httpMethod": method,
            "identity": {"sourceIp": SOURCE_IP, "userAgent": USER_AGENT},
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "09/Apr/2015:12:34:56 +0000",
            "requestTimeEpoch": 1428582896000,
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}",
            "stage": stage,
        },
        "body": _body(body, base64_encoded),
        "isBase64Encoded": base64_encoded,
    }


def http_v2(
    method: str,
    path: str,
    *,
    stage: str = "$default",
    headers: dict[str, str] | None = None,
    query: str = "",
    body: bytes | None = None,
    base64_encoded: bool = False,
    domain: str = f"{API_ID}.execute-api.us-east-1.amazonaws.com",
) -> dict[str, Any]:
    """An HTTP API event, payload 2.0: a named stage stays in `rawPath`."""
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    sent = {
        "host": domain,
        "user-agent": USER_AGENT,
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    } | {name.lower(): value for name, value in (headers or {}).items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": sent,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": domain.split(".")[0],
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": USER_AGENT,
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": stage,
            "time": "10/Mar/2020:05:16:23 +0000",
            "timeEpoch": 1583817383220,
        },
        "isBase64Encoded": base64_encoded,
    }
    if query:
        event["queryStringParameters"] = {
            name: ",".join(values) for name, values in parse_qs(query).items()
        }
    if body is not None:
        event["body"] = _body(body, base64_encoded)
    return event


def function_url(method: str, path: str, **options: Any) -> dict[str, Any]:
    """A Lambda Function URL event: payload 2.0 on the function's own domain, no stage."""
    domain = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"
    return http_v2(method, path, domain=domain, **options)


def alb(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: bytes | None = None,
    base64_encoded: bool = False,
    multi_value: bool = False,
) -> dict[str, Any]:
    """An Application Load Balancer event; `multi_value` when the target group enables them."""
    sent = {
        "host": "gateway-123456789.us-east-1.elb.amazonaws.com",
        "user-agent": USER_AGENT,
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    } | {name.lower(): value for name, value in (headers or {}).items()}
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": (
                    f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:"
                    "targetgroup/gateway/73e2d6bc24d8a067"
                )
            }
        },
        "httpMethod": method,
        "path": path,
        "body": _body(body, base64_encoded) or "",
        "isBase64Encoded": base64_encoded,
    }
    # The load balancer passes query values as they came, still percent-encoded.
    encoded = {name: quote_plus(value) for name, value in (query or {}).items()}
    if multi_value:
        event["multiValueHeaders"] = {name: [value] for name, value in sent.items()}
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in encoded.items()}
    else:
        event["headers"] = sent
        event["queryStringParameters"] = encoded
    return event
