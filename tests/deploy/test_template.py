"""The SAM template: it lints clean, SAM transforms it offline, and it configures what exists."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from gateway.catalog.source import DynamoDBSource, SqliteSource, parse_catalog_url
from gateway.lambda_handler import settings_for_lambda
from gateway.settings import Settings

TEMPLATE = Path(__file__).parent.parent.parent / "deploy" / "template.yaml"
PARAMETERS = {
    "RecommendationsArn": "arn:aws:personalize:eu-west-1:123456789012:campaign/for-you",
    "RelatedItemsArn": "arn:aws:personalize:eu-west-1:123456789012:recommender/more-like-x",
    "RankingArn": "arn:aws:personalize:eu-west-1:123456789012:campaign/ranking",
    "Filters": '{"exclude-purchased": '
    '"arn:aws:personalize:eu-west-1:123456789012:filter/exclude-purchased"}',
    "EventTrackingId": "0b0f5c5e-8c1b-4d5e-9f7a-1a2b3c4d5e6f",
    "EventTrackerArn": "arn:aws:personalize:eu-west-1:123456789012:event-tracker/4a6d3b2c",
}


PSEUDO_PARAMETERS = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
}
CATALOG_TABLE = "shop-items"


class _NoManagedPolicies:
    """The template names no managed policy by name, so SAM never needs IAM to look one up."""

    def load(self) -> dict[str, str]:
        return {}


def packaged_template() -> dict[str, Any]:
    """The template as `sam deploy` hands it to CloudFormation: the bundle uploaded to S3."""
    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    template["Resources"]["Gateway"]["Properties"]["CodeUri"] = "s3://artifacts/bundle.zip"
    return template


@pytest.fixture
def transformed(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    result: dict[str, Any] = transform(packaged_template(), PARAMETERS, _NoManagedPolicies())
    return result


# The DynamoDB operations the catalog calls: BatchGetItem for lookups, DescribeTable for
# /readyz (tests/deploy/test_catalog_permissions.py records them against moto).
CATALOG_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:DescribeTable"]


class _NoValue:
    """What `Ref: AWS::NoValue` leaves: the property or list entry is dropped."""


def evaluate(template: dict[str, Any], value: Any, parameters: dict[str, str]) -> Any:
    """`value` with the intrinsic functions this template uses worked out as CloudFormation
    would for a stack of `parameters` (the others at their defaults)."""
    given = {
        name: parameter.get("Default", "")
        for name, parameter in packaged_template()["Parameters"].items()
    }
    given |= PSEUDO_PARAMETERS | parameters

    def work(node: Any) -> Any:
        if isinstance(node, list):
            return [entry for entry in map(work, node) if not isinstance(entry, _NoValue)]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            return _NoValue() if node["Ref"] == "AWS::NoValue" else given[node["Ref"]]
        if set(node) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda match: given[match[1]], node["Fn::Sub"])
        if set(node) == {"Fn::If"}:
            condition, when_true, when_false = node["Fn::If"]
            return work(when_true if holds(condition) else when_false)
        if set(node) == {"Fn::Not"}:
            return not work(node["Fn::Not"][0])
        if set(node) == {"Fn::Equals"}:
            left, right = work(node["Fn::Equals"])
            return bool(left == right)
        return {name: work(entry) for name, entry in node.items()}

    def holds(condition: str) -> bool:
        return bool(work(template["Conditions"][condition]))

    return work(value)


def granted_statements(
    template: dict[str, Any], parameters: dict[str, str]
) -> list[dict[str, Any]]:
    role = template["Resources"]["GatewayRole"]["Properties"]
    policies = evaluate(template, role["Policies"], parameters)
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def catalog_url(template: dict[str, Any], parameters: dict[str, str]) -> str:
    variables = template["Resources"]["Gateway"]["Properties"]["Environment"]["Variables"]
    url: str = evaluate(template, variables["GATEWAY_CATALOG_URL"], parameters)
    return url


def test_template_passes_cfn_lint() -> None:
    matches = lint_file(TEMPLATE)

    assert [str(match) for match in matches] == [], matches


def test_template_transforms_into_a_function_behind_an_http_api(
    transformed: dict[str, Any],
) -> None:
    types = sorted(resource["Type"] for resource in transformed["Resources"].values())

    assert types == [
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
    ], types


def test_template_grants_personalize_calls_on_the_given_resources_only(
    transformed: dict[str, Any],
) -> None:
    statements = granted_statements(transformed, PARAMETERS)
    granted = {statement["Action"]: statement["Resource"] for statement in statements}

    assert sorted(granted) == [
        "personalize:GetPersonalizedRanking",
        "personalize:GetRecommendations",
        "personalize:PutEvents",
    ], sorted(granted)
    assert granted["personalize:PutEvents"] == PARAMETERS["EventTrackerArn"], granted
    recommendations = granted["personalize:GetRecommendations"]
    assert recommendations[0] == PARAMETERS["RecommendationsArn"], granted
    assert "*" not in str(statements).replace("filter/*", ""), statements


def test_template_runs_the_lambda_handler(transformed: dict[str, Any]) -> None:
    function = transformed["Resources"]["Gateway"]["Properties"]
    module, _, name = function["Handler"].rpartition(".")

    assert callable(getattr(importlib.import_module(module), name)), function["Handler"]


def test_template_sets_only_settings_the_gateway_reads(transformed: dict[str, Any]) -> None:
    variables = transformed["Resources"]["Gateway"]["Properties"]["Environment"]["Variables"]
    known = {Settings.env_var(field) for field in Settings.model_fields}

    assert sorted(set(variables) - known) == [], sorted(set(variables) - known)


def test_template_settings_start_the_gateway_on_lambda(
    transformed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = transformed["Resources"]["Gateway"]["Properties"]["Environment"]["Variables"]
    for name in list(os.environ):
        if name.startswith("GATEWAY_"):
            monkeypatch.delenv(name)
    for name, value in evaluate(transformed, variables, PARAMETERS).items():
        monkeypatch.setenv(name, value)

    settings = settings_for_lambda()

    assert settings.recommendations_arn == PARAMETERS["RecommendationsArn"], settings
    assert settings.production, settings.environment


def test_template_reads_the_bundled_sqlite_file_without_a_catalog_parameter(
    transformed: dict[str, Any],
) -> None:
    source = parse_catalog_url(catalog_url(transformed, PARAMETERS))

    assert source == SqliteSource(Path("/var/task/catalog.db")), source


def test_template_reads_the_catalog_table_in_the_stack_region(
    transformed: dict[str, Any],
) -> None:
    url = catalog_url(transformed, PARAMETERS | {"CatalogTable": CATALOG_TABLE})

    assert parse_catalog_url(url) == DynamoDBSource(CATALOG_TABLE, "eu-west-1"), url


def test_template_passes_the_catalog_url_on(transformed: dict[str, Any]) -> None:
    given = f"dynamodb://{CATALOG_TABLE}?region=eu-west-1&key=id"

    url = catalog_url(
        transformed, PARAMETERS | {"CatalogUrl": given, "CatalogTable": CATALOG_TABLE}
    )

    assert url == given, url


def test_template_grants_no_dynamodb_read_without_a_catalog_table(
    transformed: dict[str, Any],
) -> None:
    actions = [statement["Action"] for statement in granted_statements(transformed, PARAMETERS)]

    assert "dynamodb" not in str(actions), actions


def test_template_grants_catalog_reads_on_the_catalog_table_only(
    transformed: dict[str, Any],
) -> None:
    statements = granted_statements(transformed, PARAMETERS | {"CatalogTable": CATALOG_TABLE})
    reads = [statement for statement in statements if "dynamodb" in str(statement["Action"])]

    assert len(reads) == 1, reads
    assert sorted(reads[0]["Action"]) == CATALOG_ACTIONS, reads[0]
    assert reads[0]["Resource"] == (
        f"arn:aws:dynamodb:eu-west-1:123456789012:table/{CATALOG_TABLE}"
    ), reads[0]
    assert reads[0]["Effect"] == "Allow", reads[0]


def test_template_catalog_condition_is_on_the_table_parameter(
    transformed: dict[str, Any],
) -> None:
    condition = transformed["Conditions"]["HasCatalogTable"]

    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CatalogTable"}, ""]}]}, condition
