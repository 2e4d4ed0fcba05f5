from pathlib import Path

import pytest

from emulator.config import ConfigError, EmulatorConfig, Recipe

CONFIG = """
region = "eu-west-1"
account = "123456789012"
tracking_ids = ["tracker-1", "tracker-2"]

[campaigns]
for-you = "user-personalization"
related = "sims"

[recommenders]
best-sellers = "aws-popularity-count"

[filters]
cheap = "INCLUDE ItemID WHERE Items.PRICE < $MAX"
"""


FILTER_ARN = "arn:aws:personalize:us-east-1:000000000000:filter"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "emulator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        EmulatorConfig.load(write(tmp_path, text))
    return str(caught.value)


def test_load_reads_campaigns_with_recipe_aliases(tmp_path: Path) -> None:
    config = EmulatorConfig.load(write(tmp_path, CONFIG))
    assert dict(config.campaigns) == {
        "for-you": Recipe.USER_PERSONALIZATION,
        "related": Recipe.SIMILAR_ITEMS,
    }


def test_arns_are_formed_from_region_and_account(tmp_path: Path) -> None:
    config = EmulatorConfig.load(write(tmp_path, CONFIG))
    assert [
        config.campaign_arn("for-you"),
        config.recommender_arn("best-sellers"),
        config.filter_arn("cheap"),
    ] == [
        "arn:aws:personalize:eu-west-1:123456789012:campaign/for-you",
        "arn:aws:personalize:eu-west-1:123456789012:recommender/best-sellers",
        "arn:aws:personalize:eu-west-1:123456789012:filter/cheap",
    ]


def test_find_deployment_resolves_a_recommender_arn(tmp_path: Path) -> None:
    config = EmulatorConfig.load(write(tmp_path, CONFIG))
    deployment = config.find_deployment(
        "arn:aws:personalize:eu-west-1:123456789012:recommender/best-sellers"
    )
    assert deployment is not None
    assert (deployment.kind, deployment.name, deployment.recipe) == (
        "recommender",
        "best-sellers",
        Recipe.POPULARITY_COUNT,
    )


def test_find_deployment_of_another_account_is_none(tmp_path: Path) -> None:
    config = EmulatorConfig.load(write(tmp_path, CONFIG))
    assert (
        config.find_deployment("arn:aws:personalize:eu-west-1:000000000000:campaign/for-you")
        is None
    )


def test_filters_are_parsed_at_load(tmp_path: Path) -> None:
    config = EmulatorConfig.load(write(tmp_path, CONFIG))
    assert config.filters["cheap"].placeholders == frozenset({"MAX"})


def test_tracking_id_is_the_first_tracking_id(tmp_path: Path) -> None:
    assert EmulatorConfig.load(write(tmp_path, CONFIG)).tracking_id == "tracker-1"


def test_default_config_declares_the_sample_resources() -> None:
    config = EmulatorConfig.default()
    assert (
        config.campaign_arn("user-personalization"),
        sorted(config.campaigns),
        sorted(config.recommenders),
        config.filter_arns,
        config.tracking_ids,
    ) == (
        "arn:aws:personalize:us-east-1:000000000000:campaign/user-personalization",
        ["personalized-ranking", "similar-items", "user-personalization"],
        ["most-popular"],
        {
            "exclude-purchased": f"{FILTER_ARN}/exclude-purchased",
            "category": f"{FILTER_ARN}/category",
            "max-price": f"{FILTER_ARN}/max-price",
        },
        ("local-tracking-id",),
    )


def test_unknown_key_is_named(tmp_path: Path) -> None:
    message = load_error(tmp_path, 'regoin = "us-east-1"\n')
    assert "unknown key 'regoin'" in message


def test_unknown_recipe_names_the_campaign(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[campaigns]\nfor-you = "deep-magic"\n')
    assert "campaigns.for-you: unknown recipe 'deep-magic'" in message


def test_ranking_recommender_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[recommenders]\nrank = "personalized-ranking"\n')
    assert "recommenders.rank" in message


def test_bad_filter_names_the_filter_and_points_at_the_column(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[filters]\nbad = 'INCLUDE ItemID WHERE Items.PRICE < \"x\"'\n")
    assert message.splitlines()[1:] == [
        '  INCLUDE ItemID WHERE Items.PRICE < "x"',
        "                                     ^",
    ]
    assert message.startswith(f"{tmp_path / 'emulator.toml'}: filters.bad: expected a number")


def test_invalid_resource_name_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[campaigns]\n"-bad" = "sims"\n')
    assert "campaigns.-bad: a name must match" in message


def test_invalid_account_is_refused(tmp_path: Path) -> None:
    assert "account '42' must be 12 digits" in load_error(tmp_path, 'account = "42"\n')


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[campaigns\n")
    assert message.startswith(f"{tmp_path / 'emulator.toml'}: not valid TOML")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: file not found"):
        EmulatorConfig.load(tmp_path / "missing.toml")
