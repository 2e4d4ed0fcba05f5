"""Amazon Personalize's input limits, checked before any call so clients get a clear error.

Unless noted, each value comes from the personalize-runtime service model
(botocore/data/personalize-runtime/2018-05-22/service-2.json), shape named in the comment.
"""

import re
from datetime import UTC, datetime

MAX_ID_LENGTH = 256  # UserID, ItemID: max 256
MIN_ID_LENGTH = 1  # an empty id names nothing

DEFAULT_NUM_RESULTS = 25  # GetRecommendations numResults documentation: "The default is 25"
MIN_NUM_RESULTS = 1  # NumResults allows 0, but asking for nothing is a client mistake
MAX_NUM_RESULTS = 500  # GetRecommendations numResults documentation: "the maximum is 500"

MIN_RANKING_ITEMS = 1  # GetPersonalizedRanking inputList is required
MAX_RANKING_ITEMS = 500  # GetPersonalizedRanking inputList documentation: "the maximum is 500"
# With metadataColumns, Personalize returns at most 50 items (numResults, inputList):
# https://docs.aws.amazon.com/personalize/latest/dg/getting-recommendations-with-metadata.html
MAX_RESULTS_WITH_METADATA = 50

MAX_FILTER_VALUES = 25  # FilterValues: map max 25
FILTER_VALUE_KEY = re.compile(r"[A-Za-z0-9_]{1,50}")  # FilterAttributeName: max 50, [A-Za-z0-9_]+
MAX_FILTER_VALUE_LENGTH = 1000  # FilterAttributeValue: max 1000 (after formatting)

MAX_CONTEXT_ENTRIES = 150  # Context: map max 150
CONTEXT_KEY = re.compile(r"[A-Za-z0-9_]{1,150}")  # AttributeName: max 150, [A-Za-z\d_]+
MAX_CONTEXT_VALUE_LENGTH = 1000  # AttributeValue: max 1000

PROMOTION_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_]{0,62}")  # Name: 1..63, ^[a-zA-Z0-9][…]*
DEFAULT_PERCENT_PROMOTED_ITEMS = 20  # the gateway's choice; Personalize has no default
MIN_PERCENT_PROMOTED_ITEMS = 1  # PercentPromotedItems: min 1
MAX_PERCENT_PROMOTED_ITEMS = 100  # PercentPromotedItems: max 100

# Not Personalize's: each alias of a root field is one upstream call, so a document may not
# fan out into more than this many.
DEFAULT_MAX_ALIASES = 15
# Personalize calls one request may cause in all (root fields, aliases, _entities' Users).
DEFAULT_MAX_UPSTREAM_CALLS = 15
# Representations in one _entities call: Item references cost one catalog batch together, and
# a router asks for at most a page of entities at once (Personalize lists hold up to 500).
MAX_ENTITY_REPRESENTATIONS = 500
# Not Personalize's either: the deepest sensible document (an entity's recommendations' items'
# details) is 5 fields deep, and a GraphiQL introspection query is under 200 tokens, while
# 500 ranking ids written inline are about 520.
DEFAULT_MAX_DEPTH = 10
DEFAULT_MAX_TOKENS = 2000
# The standard introspection query (graphql-js's, which GraphiQL sends; graphql-core's
# get_introspection_query) nests 15 deep: __schema, types, fields, args, type and 10 levels
# of TypeRef. Introspection may go that deep even when the depth limit is lower.
MAX_INTROSPECTION_DEPTH = 15

# PutEvents, from the personalize-events service model (2018-03-22).
MAX_SESSION_ID_LENGTH = 256  # StringType: 1..256
MAX_EVENT_TYPE_LENGTH = 256  # StringType: 1..256
MAX_EVENT_ID_LENGTH = 256  # StringType: 1..256
MAX_PROPERTIES_LENGTH = 1024  # EventPropertiesJSON: 1..1024, once serialised
MAX_RECOMMENDATION_ID_LENGTH = 40  # RecommendationId: 1..40
MAX_IMPRESSION_ITEMS = 25  # Impression: list of 1..25 ItemId
MAX_EVENTS_PER_CALL = 10  # EventList: 1..10; longer batches take several calls
# Event.properties documentation: these keys may not be used (case-insensitive).
RESERVED_PROPERTIES = frozenset(
    {"userid", "sessionid", "eventtype", "timestamp", "recommendationid", "impression"}
)
# Personalize accepts these session ids and silently drops the events: an app's missing value.
PLACEHOLDER_SESSION_IDS = frozenset({"null", "undefined", "none", "nil"})
# Event.sentAt is sent as Unix epoch seconds: nothing before the epoch, nothing a datetime cannot
# hold once converted to UTC (an offset can carry 9999-12-31 into year 10000).
EARLIEST_SENT_AT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_SENT_AT = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
