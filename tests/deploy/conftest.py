"""The bundle's test serves a request against the same small store and local Personalize as
the gateway's tests."""

from tests.gateway.conftest import (  # noqa: F401 (fixtures)
    clean_environment,
    local_personalize,
    personalize,
    settings,
    store,
)
