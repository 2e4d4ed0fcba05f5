"""`POST /webhooks/segment`: Segment's track, page and screen calls recorded as Personalize events.

Point a Segment Webhooks destination (or any sender of Segment's message JSON) at it with the
gateway's shared secret. Segment signs each request with it: `X-Signature` is the hex HMAC-SHA1
of the body keyed by the secret. Senders that cannot sign may pass the secret as
`Authorization: Bearer SECRET` or in Basic auth (as user name or password).

A message becomes events when its name is in the mapping table (GATEWAY_SEGMENT_EVENT_TYPES):
a `track` call by its `event` name, a `page`/`screen` call by its `name`, else by `page` or
`screen` itself. The item is `properties.product_id` (or `properties.sku`); `Order Completed`
(and any message with `properties.products`) gives one event per product. `anonymousId` is the
session (`userId` when there is none), `userId` the user, `messageId` the event id (so a message
Segment delivers twice counts once) and `timestamp` the time. Other messages are ignored and
counted in the answer, and so is a message whose `messageId` was recorded within the replay
window: it is answered 200 without a second PutEvents call.

Segment retries 5xx and 429 answers and drops the others, so the webhook never answers 500:
a message that can never be recorded (a timestamp Personalize cannot take) is skipped and
listed in `failures` with a 200; a body that is not Segment JSON (or nests too deep, or holds
a number too long) gets a 400; only a failure of Personalize itself asks for a retry (503 with
`Retry-After`); and anything unexpected is logged and answered 400 in JSON, as retrying the same
body would fail the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.events.bounded_json import UnboundedJson, loads_bounded
from gateway.events.replay import ReplayWindow
from schema.errors import BadUserInput, code_of
from schema.events import to_sent_at, validate_session_id
from schema.inputs import validate_length
from schema.ports import Event, EventBatch, EventSink, PortError

logger = logging.getLogger(__name__)

SEGMENT_PATH = "/webhooks/segment"
PRODUCT_EVENT_TYPES = ("track", "page", "screen")
RETRY_AFTER_SECONDS = 5
UNEXPECTED_ERROR_CODE = "INTERNAL_SERVER_ERROR"


class MalformedPayload(ValueError):
    """The body is not Segment message JSON; the message says what is wrong and where."""


@dataclass
class SegmentReport:
    """What became of the messages of one request; the JSON answer Segment (or you) reads."""

    accepted: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, index: int, message: Mapping[str, Any], code: str, reason: str) -> None:
        self.failures.append(
            {"index": index, "messageId": message.get("messageId"), "code": code, "message": reason}
        )

    @property
    def retryable(self) -> bool:
        """Whether a failure lies with the gateway or Personalize, so a retry may succeed."""
        return any(failure["code"] != BadUserInput.code for failure in self.failures)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "ignored": sum(self.ignored.values()),
            "ignoredReasons": dict(self.ignored),
            "failed": len(self.failures),
            "failures": self.failures,
        }


@dataclass(frozen=True)
class MappedMessage:
    """The events one Segment message stands for, with where it was in the request."""

    index: int
    message: Mapping[str, Any]
    session_id: str
    user_id: str | None
    events: tuple[Event, ...]


def segment_routes(
    secret: str, event_types: Mapping[str, str], replays: ReplayWindow | None = None
) -> list[Route]:
    """The webhook route, checking `secret` and mapping Segment names by `event_types`;
    `replays` remembers the recorded message ids (a default window when None).

    The events go to the `EventSink` of the app's lifespan state (`events`).
    """
    webhook = SegmentWebhook(secret, event_types, replays or ReplayWindow())
    return [Route(SEGMENT_PATH, webhook.receive, methods=["POST"])]


class SegmentWebhook:
    """The endpoint: authenticate, parse, map and record; 200 with a report, or what stopped it."""

    def __init__(self, secret: str, event_types: Mapping[str, str], replays: ReplayWindow) -> None:
        self._secret = secret
        self._event_types = dict(event_types)
        self._replays = replays

    async def receive(self, request: Request) -> Response:
        try:
            return await receive_segment_messages(
                request, request.state.events, self._secret, self._event_types, self._replays
            )
        except Exception:
            logger.exception("The Segment webhook could not process a request")
            return JSONResponse(
                {
                    "error": "The gateway could not process this request; retrying it would "
                    "fail the same way. The gateway's log has the details under the request id.",
                    "code": UNEXPECTED_ERROR_CODE,
                },
                status_code=400,
            )


async def receive_segment_messages(
    request: Request,
    sink: EventSink,
    secret: str,
    event_types: Mapping[str, str],
    replays: ReplayWindow,
) -> Response:
    """Authenticate, parse, map and record; 200 with a report, or the error that stopped it."""
    body = await request.body()  # its size is capped by the app's BodyLimitMiddleware
    if not is_authentic(request.headers, body, secret):
        return _error(
            401,
            "Not authenticated: sign the body with the shared secret (X-Signature, hex "
            "HMAC-SHA1, as Segment does) or send it as Authorization: Bearer or Basic.",
            headers={"WWW-Authenticate": 'Basic realm="segment"'},
        )
    try:
        messages = parse_messages(body)
    except MalformedPayload as error:
        return _error(400, str(error))
    report = SegmentReport()
    mapped = map_messages(messages, event_types, report, now=datetime.now(UTC), replays=replays)
    await record_messages(sink, mapped, report)
    failed = {failure["index"] for failure in report.failures}
    for message in mapped:
        message_id = _text(message.message.get("messageId"))
        if message_id is not None and message.index not in failed:
            replays.remember(message_id)
    if report.retryable:
        return JSONResponse(
            report.as_json(), status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    return JSONResponse(report.as_json())


def is_authentic(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Whether the request carries the secret: as a body signature, a bearer token or Basic auth.

    Every comparison takes constant time, so response times tell nothing about the secret.
    """
    key = secret.encode()
    signature = headers.get("x-signature", "").strip().lower()
    if signature:
        expected = hmac.new(key, body, hashlib.sha1).hexdigest()
        if hmac.compare_digest(signature.encode(), expected.encode()):
            return True
    scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return hmac.compare_digest(credentials.encode(), key)
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(credentials, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(user, key) | hmac.compare_digest(password, key)
    return False


def parse_messages(body: bytes) -> list[Any]:
    """The messages of a body: one message, Segment's `{"batch": [...]}`, or a JSON array."""
    try:
        payload = loads_bounded(body)
    except UnboundedJson as error:
        raise MalformedPayload(str(error)) from None
    if isinstance(payload, dict) and isinstance(payload.get("batch"), list):
        messages: list[Any] = payload["batch"]
    elif isinstance(payload, list):
        messages = payload
    elif isinstance(payload, dict):
        messages = [payload]
    else:
        raise MalformedPayload(
            f"Expected a Segment message (a JSON object) or a batch of them, got "
            f"{type(payload).__name__}."
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise MalformedPayload(
                f"Message {index} is {type(message).__name__}; every message must be a JSON object."
            )
    return messages


def map_messages(
    messages: Sequence[Mapping[str, Any]],
    event_types: Mapping[str, str],
    report: SegmentReport,
    *,
    now: datetime,
    replays: ReplayWindow | None = None,
) -> list[MappedMessage]:
    """The messages that stand for Personalize events; the others go into `report`.

    A message whose `messageId` is in `replays`, or earlier in `messages`, is a replay.
    """
    mapped: list[MappedMessage] = []
    message_ids: set[str] = set()
    for index, message in enumerate(messages):
        message_id = _text(message.get("messageId"))
        if message_id is not None:
            if message_id in message_ids or (replays is not None and message_id in replays):
                report.ignored["replayed messageId"] += 1
                continue
            message_ids.add(message_id)
        kind = str(message.get("type", "")).lower()
        if kind not in PRODUCT_EVENT_TYPES:
            report.ignored[f"{kind or 'untyped'} message"] += 1
            continue
        name = _name(message, kind)
        event_type = event_types.get(name) or (None if kind == "track" else event_types.get(kind))
        if event_type is None:
            report.ignored[f"unmapped {kind} {name!r}"] += 1
            continue
        products, skipped = product_ids(message.get("properties"))
        if skipped:
            report.ignored[f"products of {kind} {name!r} without product_id or sku"] += skipped
        if not products:
            if not skipped:
                report.ignored[f"{kind} {name!r} without product_id or sku"] += 1
            continue
        try:
            mapped.append(to_mapped_message(index, message, event_type, products, now))
        except BadUserInput as error:
            report.fail(index, message, BadUserInput.code, error.message)
    return mapped


def product_ids(properties: Any) -> tuple[list[str], int]:
    """The products a message's properties name (`products[]`, else the product itself), and
    how many entries of `products[]` name none."""
    if not isinstance(properties, dict):
        return [], 0
    products = properties.get("products")
    if isinstance(products, list):
        found = [_product_id(product) for product in products]
        return [item for item in found if item is not None], found.count(None)
    item = _product_id(properties)
    return ([], 0) if item is None else ([item], 0)


def to_mapped_message(
    index: int,
    message: Mapping[str, Any],
    event_type: str,
    products: Sequence[str],
    now: datetime,
) -> MappedMessage:
    """The events of one message, checked against PutEvents' limits."""
    user_id = _text(message.get("userId"))
    session_id = _text(message.get("anonymousId")) or user_id
    if session_id is None:
        raise BadUserInput("The message has neither anonymousId nor userId.")
    sent_at = _timestamp(message.get("timestamp") or message.get("originalTimestamp"), now)
    message_id = _text(message.get("messageId"))
    events = tuple(
        Event(
            event_type=event_type,
            sent_at=sent_at,
            item_id=validate_length(f"product {position}", product),
            event_id=None
            if message_id is None
            else validate_length(
                "messageId", message_id if len(products) == 1 else f"{message_id}-{position}"
            ),
        )
        for position, product in enumerate(products)
    )
    return MappedMessage(
        index=index,
        message=message,
        session_id=validate_session_id(session_id),
        user_id=None if user_id is None else validate_length("userId", user_id),
        events=events,
    )


async def record_messages(
    sink: EventSink, mapped: Sequence[MappedMessage], report: SegmentReport
) -> None:
    """Record the events through the sink, the way recordEvents does: a batch per session."""
    sessions: dict[tuple[str, str | None], list[tuple[MappedMessage, Event]]] = {}
    for message in mapped:
        entries = sessions.setdefault((message.session_id, message.user_id), [])
        entries += [(message, event) for event in message.events]
    for (session_id, user_id), entries in sessions.items():
        for start in range(0, len(entries), sink.max_batch):
            part = entries[start : start + sink.max_batch]
            failed: dict[int, tuple[MappedMessage, str, str]] = {}
            try:
                recorded = await sink.record(
                    EventBatch(session_id, user_id, tuple(event for _, event in part))
                )
            except PortError as error:
                failed = {
                    message.index: (message, code_of(error), error.message) for message, _ in part
                }
            else:
                report.accepted += recorded.accepted
                for failure in recorded.failures:
                    message = part[failure.index][0]
                    failed.setdefault(
                        message.index,
                        (message, code_of(failure.error), failure.error.message),
                    )
            for message, code, reason in failed.values():
                report.fail(message.index, message.message, code, reason)


def _name(message: Mapping[str, Any], kind: str) -> str:
    return str(message.get("event" if kind == "track" else "name") or "")


def _product_id(product: Any) -> str | None:
    if not isinstance(product, dict):
        return None
    return _text(product.get("product_id")) or _text(product.get("sku"))


def _text(value: Any) -> str | None:
    """A JSON string or number as text; None for anything else (and for "")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value) or None
    return None


def _timestamp(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadUserInput(f"timestamp {str(value)[:40]!r} is not an ISO 8601 date-time.") from None
    return to_sent_at("timestamp", parsed, now)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)
