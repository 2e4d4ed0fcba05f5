"""The emulator's default config (emulator/default.toml): its ARNs and tracking id by name."""

from emulator.config import EmulatorConfig

CONFIG = EmulatorConfig.default()
PERSONALIZATION = CONFIG.campaign_arn("user-personalization")
SIMILAR = CONFIG.campaign_arn("similar-items")
RANKING = CONFIG.campaign_arn("personalized-ranking")
POPULAR = CONFIG.recommender_arn("most-popular")
CATEGORY = CONFIG.filter_arn("category")
MAX_PRICE = CONFIG.filter_arn("max-price")
EXCLUDE_PURCHASED = CONFIG.filter_arn("exclude-purchased")
TRACKING_ID = CONFIG.tracking_id
