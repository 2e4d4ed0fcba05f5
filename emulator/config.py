"""The resources the local Personalize serves: campaigns, recommenders, filters, event trackers.

A TOML file declares them by name; ARNs are formed from the region and account the way AWS
forms them (`arn:aws:personalize:us-east-1:000000000000:campaign/NAME`)::

    region = "us-east-1"
    account = "000000000000"
    tracking_ids = ["local-tracking-id"]

    [campaigns]          # name = recipe, or a table: the recipe and the campaign's config
    user-personalization = { recipe = "user-personalization", metadata = true }
    similar-items = "similar-items"

    [recommenders]
    most-popular = "popularity-count"

    [filters]            # name = filter expression
    exclude-purchased = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from emulator.filters import FilterExpression, FilterSyntaxError

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_CONFIG_FILE = "default.toml"
DEFAULT_DATASET_GROUP = "local"
# Personalize's default explorationWeight for User-Personalization campaigns and "recommended
# for you" recommenders:
# https://docs.aws.amazon.com/personalize/latest/dg/create-recommender-configure-exploration.html
DEFAULT_EXPLORATION_WEIGHT = 0.3

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_]{0,62}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_ACCOUNT = re.compile(r"\d{12}")
_MAX_TRACKING_ID_LENGTH = 256
_KEYS = (
    "region", "account", "dataset_group", "campaigns", "recommenders", "filters", "tracking_ids",
)  # fmt: skip
_DEPLOYMENT_KEYS = ("recipe", "metadata", "exploration_weight")


class Recipe(enum.StrEnum):
    """The recipes the local recommender implements."""

    USER_PERSONALIZATION = "user-personalization"
    SIMILAR_ITEMS = "similar-items"
    PERSONALIZED_RANKING = "personalized-ranking"
    POPULARITY_COUNT = "popularity-count"


RECIPE_ALIASES: Mapping[str, Recipe] = {
    **{recipe.value: recipe for recipe in Recipe},
    "sims": Recipe.SIMILAR_ITEMS,
    # The names of Personalize's own recipe ARNs (arn:aws:personalize:::recipe/NAME).
    "aws-user-personalization": Recipe.USER_PERSONALIZATION,
    "aws-user-personalization-v2": Recipe.USER_PERSONALIZATION,
    "aws-similar-items": Recipe.SIMILAR_ITEMS,
    "aws-sims": Recipe.SIMILAR_ITEMS,
    "aws-personalized-ranking": Recipe.PERSONALIZED_RANKING,
    "aws-personalized-ranking-v2": Recipe.PERSONALIZED_RANKING,
    "aws-popularity-count": Recipe.POPULARITY_COUNT,
    # Domain recommenders' use cases (ECOMMERCE and VIDEO_ON_DEMAND) by recipe name.
    "aws-ecomm-recommended-for-you": Recipe.USER_PERSONALIZATION,
    "aws-ecomm-customers-who-viewed-x-also-viewed": Recipe.SIMILAR_ITEMS,
    "aws-ecomm-frequently-bought-together": Recipe.SIMILAR_ITEMS,
    "aws-ecomm-popular-items-by-views": Recipe.POPULARITY_COUNT,
    "aws-ecomm-popular-items-by-purchases": Recipe.POPULARITY_COUNT,
    "aws-vod-top-picks": Recipe.USER_PERSONALIZATION,
    "aws-vod-more-like-x": Recipe.SIMILAR_ITEMS,
    "aws-vod-most-popular": Recipe.POPULARITY_COUNT,
}
# Only User-Personalization-v2 answers `reason` for its items:
# https://docs.aws.amazon.com/personalize/latest/dg/API_RS_PredictedItem.html
_RECIPES_WITH_REASONS = frozenset({"user-personalization-v2", "aws-user-personalization-v2"})


class ConfigError(ValueError):
    """A configuration the local Personalize cannot serve; the message names the file and key."""


@dataclass(frozen=True, slots=True)
class DeploymentOptions:
    """The configuration of one campaign or recommender (Personalize's CampaignConfig).

    `metadata` is enableMetadataWithRecommendations: without it, requests with metadataColumns
    are refused. `exploration_weight` is the itemExplorationConfig's explorationWeight (0..1):
    how close to the most relevant items the items added since training are placed.
    `reasons` is true for the User-Personalization-v2 recipe, the only one that answers `reason`.
    """

    metadata: bool = False
    exploration_weight: float = DEFAULT_EXPLORATION_WEIGHT
    reasons: bool = False


DEFAULT_OPTIONS = DeploymentOptions()


@dataclass(frozen=True, slots=True)
class Deployment:
    """A campaign or a recommender: what a campaignArn or recommenderArn points at."""

    kind: Literal["campaign", "recommender"]
    name: str
    recipe: Recipe
    arn: str
    options: DeploymentOptions = DEFAULT_OPTIONS


@dataclass(frozen=True)
class EmulatorConfig:
    """The campaigns, recommenders, filters and tracking ids of one local Personalize."""

    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    campaigns: Mapping[str, Recipe] = field(default_factory=dict)
    recommenders: Mapping[str, Recipe] = field(default_factory=dict)
    filters: Mapping[str, FilterExpression] = field(default_factory=dict)
    tracking_ids: tuple[str, ...] = ()
    dataset_group: str = DEFAULT_DATASET_GROUP
    # name -> options, for the campaigns and recommenders configured with more than a recipe
    campaign_options: Mapping[str, DeploymentOptions] = field(default_factory=dict)
    recommender_options: Mapping[str, DeploymentOptions] = field(default_factory=dict)
    _deployments: dict[str, Deployment] = field(init=False, repr=False, compare=False)
    _filters_by_arn: dict[str, FilterExpression] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        deployments: dict[str, Deployment] = {}
        for name, recipe in self.campaigns.items():
            arn = self.campaign_arn(name)
            options = self.campaign_options.get(name, DEFAULT_OPTIONS)
            deployments[arn] = Deployment("campaign", name, recipe, arn, options)
        for name, recipe in self.recommenders.items():
            arn = self.recommender_arn(name)
            options = self.recommender_options.get(name, DEFAULT_OPTIONS)
            deployments[arn] = Deployment("recommender", name, recipe, arn, options)
        object.__setattr__(self, "_deployments", deployments)
        filters = {self.filter_arn(name): expression for name, expression in self.filters.items()}
        object.__setattr__(self, "_filters_by_arn", filters)

    @classmethod
    def load(cls, path: Path) -> EmulatorConfig:
        """Read a TOML configuration file."""
        try:
            with path.open("rb") as file:
                data = tomllib.load(file)
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def default(cls) -> EmulatorConfig:
        """The configuration for the sample dataset (emulator/default.toml)."""
        text = resources.files("emulator").joinpath(DEFAULT_CONFIG_FILE).read_text("utf-8")
        return cls.from_dict(tomllib.loads(text), source=DEFAULT_CONFIG_FILE)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "config") -> EmulatorConfig:
        """Check and convert parsed TOML; errors name `source` and the offending key."""
        for key in data:
            if key not in _KEYS:
                raise ConfigError(f"{source}: unknown key {key!r} (known keys: {', '.join(_KEYS)})")
        region = _string(data, "region", DEFAULT_REGION, source)
        if not _REGION.fullmatch(region):
            raise ConfigError(f"{source}: region {region!r} is not an AWS region like us-east-1")
        account = _string(data, "account", DEFAULT_ACCOUNT, source)
        if not _ACCOUNT.fullmatch(account):
            raise ConfigError(f"{source}: account {account!r} must be 12 digits")
        dataset_group = _string(data, "dataset_group", DEFAULT_DATASET_GROUP, source)
        if not _NAME.fullmatch(dataset_group):
            raise ConfigError(
                f"{source}: dataset_group {dataset_group!r} must match [a-zA-Z0-9][a-zA-Z0-9-_]*"
            )
        campaigns, campaign_options = _deployments(data, "campaigns", source)
        recommenders, recommender_options = _deployments(data, "recommenders", source)
        for name, recipe in recommenders.items():
            if recipe is Recipe.PERSONALIZED_RANKING:
                raise ConfigError(
                    f"{source}: recommenders.{name}: recipe {recipe} is only available to "
                    "campaigns (GetPersonalizedRanking takes a campaignArn)"
                )
        filters = {
            name: _filter(name, text, source)
            for name, text in _table(data, "filters", source).items()
        }
        return cls(
            region=region,
            account=account,
            campaigns=campaigns,
            recommenders=recommenders,
            filters=filters,
            tracking_ids=_tracking_ids(data, source),
            dataset_group=dataset_group,
            campaign_options=campaign_options,
            recommender_options=recommender_options,
        )

    def campaign_arn(self, name: str) -> str:
        return self._arn("campaign", name)

    def recommender_arn(self, name: str) -> str:
        return self._arn("recommender", name)

    def filter_arn(self, name: str) -> str:
        return self._arn("filter", name)

    def dataset_arn(self, dataset_type: Literal["ITEMS", "USERS"]) -> str:
        """The ARN of the Items or Users dataset, the datasetArn of PutItems and PutUsers."""
        return self._arn("dataset", f"{self.dataset_group}/{dataset_type}")

    def _arn(self, resource: str, name: str) -> str:
        return f"arn:aws:personalize:{self.region}:{self.account}:{resource}/{name}"

    @property
    def tracking_id(self) -> str:
        """The first event tracker's tracking id (the one the CLI prints)."""
        if not self.tracking_ids:
            raise ConfigError("no tracking_ids configured")
        return self.tracking_ids[0]

    @property
    def filter_arns(self) -> dict[str, str]:
        """Filter name -> ARN, the mapping a gateway is configured with."""
        return {name: self.filter_arn(name) for name in self.filters}

    def find_deployment(self, arn: str) -> Deployment | None:
        """The campaign or recommender with this ARN, if configured."""
        return self._deployments.get(arn)

    def find_filter(self, arn: str) -> FilterExpression | None:
        return self._filters_by_arn.get(arn)


def _string(data: Mapping[str, Any], key: str, default: str, source: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {key} must be a string, got {value!r}")
    return value


def _table(
    data: Mapping[str, Any], key: str, source: str, *, tables: bool = False
) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {key} must be a table ([{key}]), got {table!r}")
    for name, value in table.items():
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"{source}: {key}.{name}: a name must match [a-zA-Z0-9][a-zA-Z0-9-_]* "
                "and have at most 63 characters"
            )
        if not isinstance(value, str) and not (tables and isinstance(value, dict)):
            kind = "a string or a table" if tables else "a string"
            raise ConfigError(f"{source}: {key}.{name} must be {kind}, got {value!r}")
    return table


def _deployments(
    data: Mapping[str, Any], key: str, source: str
) -> tuple[dict[str, Recipe], dict[str, DeploymentOptions]]:
    recipes: dict[str, Recipe] = {}
    options: dict[str, DeploymentOptions] = {}
    for name, value in _table(data, key, source, tables=True).items():
        where = f"{source}: {key}.{name}"
        settings: dict[str, Any] = value if isinstance(value, dict) else {"recipe": value}
        for setting in settings:
            if setting not in _DEPLOYMENT_KEYS:
                raise ConfigError(
                    f"{where}: unknown key {setting!r} (known keys: {', '.join(_DEPLOYMENT_KEYS)})"
                )
        recipe_name = settings.get("recipe")
        if not isinstance(recipe_name, str):
            raise ConfigError(f"{where}: recipe must be a string, got {recipe_name!r}")
        recipe = RECIPE_ALIASES.get(recipe_name.lower())
        if recipe is None:
            known = ", ".join(RECIPE_ALIASES)
            raise ConfigError(f"{where}: unknown recipe {recipe_name!r} (known recipes: {known})")
        recipes[name] = recipe
        metadata = settings.get("metadata", False)
        if not isinstance(metadata, bool):
            raise ConfigError(f"{where}: metadata must be true or false, got {metadata!r}")
        weight = settings.get("exploration_weight", DEFAULT_EXPLORATION_WEIGHT)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
            raise ConfigError(
                f"{where}: exploration_weight must be a number from 0 to 1, got {weight!r}"
            )
        options[name] = DeploymentOptions(
            metadata=metadata,
            exploration_weight=float(weight),
            reasons=recipe_name.lower() in _RECIPES_WITH_REASONS,
        )
    return recipes, options


def _filter(name: str, text: str, source: str) -> FilterExpression:
    try:
        return FilterExpression.parse(text)
    except FilterSyntaxError as error:
        raise ConfigError(f"{source}: filters.{name}: {error}") from None


def _tracking_ids(data: Mapping[str, Any], source: str) -> tuple[str, ...]:
    value = data.get("tracking_ids", [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{source}: tracking_ids must be a list of strings, got {value!r}")
    for tracking_id in value:
        if not 1 <= len(tracking_id) <= _MAX_TRACKING_ID_LENGTH:
            raise ConfigError(
                f"{source}: tracking_ids: {tracking_id!r} must have 1 to "
                f"{_MAX_TRACKING_ID_LENGTH} characters"
            )
    return tuple(value)
