"""Input validation as Personalize does it, read from botocore's service models.

The constraints (required members, lengths, value ranges, patterns, list and map sizes) come from
the `personalize-runtime` and `personalize-events` models that botocore ships, so they follow the
service; the few limits the service documents but the model does not carry (numResults <= 500,
<= 50 with metadata, ...) are added by `_documented_limits`. Messages use the service's wording:
`1 validation error detected: Value '600' at 'numResults' failed to satisfy constraint: Member
must have value less than or equal to 500`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

SERVICES = {"personalize-runtime": "2018-05-22", "personalize-events": "2018-03-22"}
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.personalize/"

MAX_NUM_RESULTS = 500
MAX_NUM_RESULTS_WITH_METADATA = 50
MAX_ACTION_RESULTS = 100
METADATA_DATASET_TYPE = "ITEMS"
_RESERVED_PROPERTIES = frozenset(
    {"userid", "sessionid", "eventtype", "timestamp", "recommendationid", "impression"}
)
# Members the service requires although the model leaves them optional.
_PROMOTION_MEMBERS = ("name", "percentPromotedItems")


class ServiceError(Exception):
    """An error answered in AWS's shape: HTTP status, error code and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def invalid_input(message: str) -> ServiceError:
    return ServiceError("InvalidInputException", message, 400)


def resource_not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 404)


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the service models: its HTTP binding and input shape."""

    name: str
    service: str
    method: str
    path: str
    input_shape: str


@functools.cache
def _models() -> dict[str, dict[str, Any]]:
    from botocore.loaders import Loader

    loader = Loader()
    return {
        service: loader.load_service_model(service, "service-2", api_version=version)
        for service, version in SERVICES.items()
    }


@functools.cache
def operations() -> dict[str, Operation]:
    """Every operation of both models, by name (GetRecommendations, PutEvents, ...)."""
    found: dict[str, Operation] = {}
    for service, model in _models().items():
        for name, operation in model["operations"].items():
            http = operation["http"]
            found[name] = Operation(
                name, service, http["method"], http["requestUri"], operation["input"]["shape"]
            )
    return found


def validate_input(operation: str, body: object) -> Mapping[str, Any]:
    """Check a request body against the operation's input shape and Personalize's limits.

    Raises ServiceError: InvalidInputException for constraint violations, SerializationException
    for values of the wrong JSON type. Returns the body.
    """
    spec = operations()[operation]
    shapes = _models()[spec.service]["shapes"]
    checker = _Checker(shapes)
    checker.check(spec.input_shape, body, "")
    request = cast(dict[str, Any], body)  # check() refused anything but an object
    limits = _documented_limits.get(operation)
    if limits is not None:
        limits(request, checker.errors)
    if checker.errors:
        count = len(checker.errors)
        noun = "validation error" if count == 1 else "validation errors"
        raise invalid_input(f"{count} {noun} detected: " + "; ".join(checker.errors))
    return request


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "structure": (dict,),
    "map": (dict,),
    "list": (list,),
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "timestamp": (int, float),
    "boolean": (bool,),
}


class _Checker:
    def __init__(self, shapes: Mapping[str, Any]) -> None:
        self.shapes = shapes
        self.errors: list[str] = []
        self.sensitive: dict[str, bool] = {}

    def check(self, shape_name: str, value: object, path: str) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if not _has_type(kind, value):
            where = f"at '{path}'" if path else "as the request body"
            raise ServiceError(
                "SerializationException",
                f"Cannot read {_json_type(value)} {where}: expected {_describe_type(kind)}",
            )
        failed = self.constraints(shape, value)
        if failed:
            self.report(shape_name, value, path, failed[0])
        if isinstance(value, dict) and kind == "structure":
            self.check_structure(shape, value, path)
        elif isinstance(value, dict):
            self.check_map(shape, value, path)
        elif isinstance(value, list):
            member_shape = shape["member"]["shape"]
            for index, member in enumerate(value, start=1):
                member_path = f"{path}.{index}.member"
                if member is None:
                    self.report(member_shape, None, member_path, "Member must not be null")
                else:
                    self.check(member_shape, member, member_path)

    def check_structure(self, shape: Mapping[str, Any], value: dict[str, Any], path: str) -> None:
        required = shape.get("required", ())
        for name, member in shape["members"].items():
            member_path = f"{path}.{name}" if path else name
            member_value = value.get(name)
            if member_value is None:
                if name in required:
                    self.report(member["shape"], None, member_path, "Member must not be null")
                continue
            self.check(member["shape"], member_value, member_path)

    def check_map(self, shape: Mapping[str, Any], value: dict[str, Any], path: str) -> None:
        key_shape = self.shapes[shape["key"]["shape"]]
        value_shape_name = shape["value"]["shape"]
        key_failures: list[str] = []
        value_failures: list[str] = []
        for key, member in value.items():
            key_failures.extend(self.constraints(key_shape, key))
            if member is None:
                value_failures.append("Member must not be null")
                continue
            if not _has_type(self.shapes[value_shape_name]["type"], member):
                raise ServiceError(
                    "SerializationException",
                    f"Cannot read {_json_type(member)} at '{path}.{key}': expected "
                    f"{_describe_type(self.shapes[value_shape_name]['type'])}",
                )
            value_failures.extend(self.nested_constraints(value_shape_name, member))
        if key_failures:
            listed = ", ".join(dict.fromkeys(key_failures))
            self.report_map(shape, value, path, f"Map keys must satisfy constraint: [{listed}]")
        if value_failures:
            listed = ", ".join(dict.fromkeys(value_failures))
            self.report_map(shape, value, path, f"Map value must satisfy constraint: [{listed}]")

    def nested_constraints(self, shape_name: str, value: object) -> list[str]:
        shape = self.shapes[shape_name]
        failed = self.constraints(shape, value)
        if shape["type"] == "list" and isinstance(value, list):
            member_shape = self.shapes[shape["member"]["shape"]]
            for member in value:
                if _has_type(member_shape["type"], member):
                    failed.extend(self.constraints(member_shape, member))
        return failed

    @staticmethod
    def constraints(shape: Mapping[str, Any], value: object) -> list[str]:
        failed: list[str] = []
        kind = shape["type"]
        if kind in ("string", "list", "map"):
            size = len(value)  # type: ignore[arg-type]
            if "min" in shape and size < shape["min"]:
                failed.append(f"Member must have length greater than or equal to {shape['min']}")
            if "max" in shape and size > shape["max"]:
                failed.append(f"Member must have length less than or equal to {shape['max']}")
            if "pattern" in shape and not _pattern(shape["pattern"]).fullmatch(str(value)):
                failed.append(f"Member must satisfy regular expression pattern: {shape['pattern']}")
        elif kind in ("integer", "long", "float", "double"):
            number: float = value  # type: ignore[assignment]
            if "min" in shape and number < shape["min"]:
                failed.append(f"Member must have value greater than or equal to {shape['min']}")
            if "max" in shape and number > shape["max"]:
                failed.append(f"Member must have value less than or equal to {shape['max']}")
        return failed

    def report(self, shape_name: str, value: object, path: str, constraint: str) -> None:
        self.errors.append(_message(self.is_sensitive(shape_name), value, path, constraint))

    def report_map(
        self, shape: Mapping[str, Any], value: object, path: str, constraint: str
    ) -> None:
        sensitive = bool(shape.get("sensitive")) or any(
            self.is_sensitive(shape[part]["shape"]) for part in ("key", "value")
        )
        self.errors.append(_message(sensitive, value, path, constraint))

    def is_sensitive(self, shape_name: str) -> bool:
        """Whether the shape or anything inside it is sensitive."""
        cached = self.sensitive.get(shape_name)
        if cached is None:
            self.sensitive[shape_name] = False  # guards against recursive shapes
            shape = self.shapes[shape_name]
            inner = [member["shape"] for member in shape.get("members", {}).values()]
            inner += [shape[part]["shape"] for part in ("member", "key", "value") if part in shape]
            cached = bool(shape.get("sensitive")) or any(map(self.is_sensitive, inner))
            self.sensitive[shape_name] = cached
        return cached


def _message(sensitive: bool, value: object, path: str, constraint: str) -> str:
    if value is None:
        shown = "Value null"
    elif sensitive:
        # The service leaves the values of sensitive members out of its messages.
        shown = "Value"
    else:
        shown = f"Value '{_java_string(value)}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _java_string(value: object) -> str:
    """Render a value as the service (written in Java) prints it: [a, b] and {k=v}."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_java_string(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _has_type(kind: str, value: object) -> bool:
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, _JSON_TYPES.get(kind, (object,)))


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


_TYPE_DESCRIPTIONS = {
    "structure": "an object",
    "map": "an object",
    "list": "a list",
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "timestamp": "epoch seconds (a number)",
    "boolean": "a boolean",
}


def _describe_type(kind: str) -> str:
    return _TYPE_DESCRIPTIONS.get(kind, kind)


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# --- limits the service documents but the model does not carry -------------------------------


def _limit(errors: list[str], value: int, path: str, maximum: int) -> None:
    if value > maximum:
        constraint = f"Member must have value less than or equal to {maximum}"
        errors.append(_message(False, value, path, constraint))


def _check_metadata_columns(body: Mapping[str, Any], errors: list[str]) -> bool:
    columns = body.get("metadataColumns")
    if not columns:
        return False
    for dataset_type in columns:
        if dataset_type != METADATA_DATASET_TYPE:
            errors.append(
                f"Value '{_java_string(columns)}' at 'metadataColumns' failed to satisfy "
                f"constraint: Map keys must satisfy constraint: [Member must be "
                f"{METADATA_DATASET_TYPE}]"
            )
    return True


def _recommendations_limits(body: Mapping[str, Any], errors: list[str]) -> None:
    with_metadata = _check_metadata_columns(body, errors)
    maximum = MAX_NUM_RESULTS_WITH_METADATA if with_metadata else MAX_NUM_RESULTS
    _limit(errors, body.get("numResults", 0), "numResults", maximum)
    for index, promotion in enumerate(body.get("promotions") or (), start=1):
        for member in _PROMOTION_MEMBERS:
            if isinstance(promotion, dict) and promotion.get(member) is None:
                path = f"promotions.{index}.member.{member}"
                errors.append(_message(False, None, path, "Member must not be null"))


def _ranking_limits(body: Mapping[str, Any], errors: list[str]) -> None:
    with_metadata = _check_metadata_columns(body, errors)
    maximum = MAX_NUM_RESULTS_WITH_METADATA if with_metadata else MAX_NUM_RESULTS
    input_list = body.get("inputList", [])
    if len(input_list) > maximum:
        errors.append(
            f"Value '{_java_string(input_list)}' at 'inputList' failed to satisfy constraint: "
            f"Member must have length less than or equal to {maximum}"
        )


def _action_limits(body: Mapping[str, Any], errors: list[str]) -> None:
    _limit(errors, body.get("numResults", 0), "numResults", MAX_ACTION_RESULTS)


def _events_limits(body: Mapping[str, Any], errors: list[str]) -> None:
    for index, event in enumerate(body.get("eventList") or (), start=1):
        if not isinstance(event, dict):
            continue
        properties = event.get("properties")
        if properties is None:
            continue
        path = f"eventList.{index}.member.properties"
        try:
            parsed = json.loads(properties)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be a JSON object "
                'string such as {"numberOfRatings": "12"}'
            )
            continue
        reserved = sorted(key for key in parsed if key.lower() in _RESERVED_PROPERTIES)
        if reserved:
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must not use the "
                f"reserved keys userId, sessionId, eventType, timestamp, recommendationId, "
                f"impression (found {', '.join(reserved)})"
            )


_documented_limits: dict[str, Callable[[Mapping[str, Any], list[str]], None]] = {
    "GetRecommendations": _recommendations_limits,
    "GetPersonalizedRanking": _ranking_limits,
    "GetActionRecommendations": _action_limits,
    "PutEvents": _events_limits,
}
