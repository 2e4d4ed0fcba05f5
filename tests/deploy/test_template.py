"""The SAM template: it lints clean, SAM transforms it offline, and it configures what exists."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

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
    role = transformed["Resources"]["GatewayRole"]["Properties"]
    statements = [
        statement.get("Fn::If", [None, statement])[1]
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    granted = {statement["Action"]: statement["Resource"] for statement in statements}

    assert sorted(granted) == [
        "personalize:GetPersonalizedRanking",
        "personalize:GetRecommendations",
        "personalize:PutEvents",
    ], sorted(granted)
    assert granted["personalize:PutEvents"] == {"Ref": "EventTrackerArn"}, granted
    assert granted["personalize:GetRecommendations"][0] == {"Ref": "RecommendationsArn"}, granted
    assert "*" not in str(role["Policies"]).replace("filter/*", ""), role["Policies"]


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
    defaults = {
        name: parameter.get("Default", "")
        for name, parameter in packaged_template()["Parameters"].items()
    }
    for name in list(os.environ):
        if name.startswith("GATEWAY_"):
            monkeypatch.delenv(name)
    for name, value in variables.items():
        if isinstance(value, dict):
            value = (defaults | PARAMETERS)[value["Ref"]]
        monkeypatch.setenv(name, value)

    settings = settings_for_lambda()

    assert settings.recommendations_arn == PARAMETERS["RecommendationsArn"], settings
    assert settings.production, settings.environment
