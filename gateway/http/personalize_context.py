"""Personalize `context` derived from the request itself: the device, the hour, the weekday.

Not to be confused with the GraphQL context (`schema.Context`): this is what goes in the
`context` parameter of Personalize's calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# CloudFront's device headers, most specific first (a tablet is not also called mobile here).
CLOUDFRONT_DEVICE_HEADERS = (
    ("cloudfront-is-tablet-viewer", "tablet"),
    ("cloudfront-is-mobile-viewer", "mobile"),
    ("cloudfront-is-smarttv-viewer", "tv"),
    ("cloudfront-is-desktop-viewer", "desktop"),
)
_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|facebookexternalhit|headless|curl/|wget/|python-|okhttp|"
    r"go-http-client|java/|httpx|axios|node-fetch",
    re.IGNORECASE,
)
# An Android device that does not say Mobile is a tablet.
_TABLET = re.compile(
    r"ipad|tablet|kindle|silk/|playbook|nexus (7|9|10)|android(?!.*mobile)", re.IGNORECASE
)
_MOBILE = re.compile(
    r"mobi|iphone|ipod|android|windows phone|blackberry|bb10|opera mini|webos", re.IGNORECASE
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PersonalizeContextRules:
    """Derives the context entries configured per root field from a request's headers.

    `fields` maps a root field ("recommendations", "ranking") to its campaign's context names
    and what each holds: `device` (mobile, tablet, tv, desktop or bot), `hour` (0 to 23) or
    `weekday` (monday to sunday), both in `time_zone`, read from `clock`. A value that cannot be
    derived (no User-Agent) is left out. With no fields configured, nothing is derived.
    """

    fields: Mapping[str, Mapping[str, str]]
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    clock: Clock = utc_now

    def derive(self, headers: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """Root field -> context entries for a request with `headers` (case-insensitive keys)."""
        if not self.fields:
            return {}
        now = self.clock().astimezone(self.time_zone)
        values = {
            "device": device_type(headers),
            "hour": str(now.hour),
            "weekday": WEEKDAYS[now.weekday()],
        }
        derived: dict[str, dict[str, str]] = {}
        for root_field, names in self.fields.items():
            derived[root_field] = {
                name: value for name, source in names.items() if (value := values[source])
            }
        return derived


def device_type(headers: Mapping[str, str]) -> str | None:
    """mobile, tablet, tv, desktop or bot: from CloudFront's headers if any, else the User-Agent.

    Simple rules, not a device database: iPads that claim to be Macs count as desktops.
    """
    flags = [
        (headers.get(name, "").strip().lower(), device)
        for name, device in CLOUDFRONT_DEVICE_HEADERS
    ]
    if any(flag for flag, _ in flags):
        return next((device for flag, device in flags if flag == "true"), None)
    agent = headers.get("user-agent", "").strip()
    if not agent:
        return None
    if _BOT.search(agent):
        return "bot"
    if _TABLET.search(agent):
        return "tablet"
    if _MOBILE.search(agent):
        return "mobile"
    return "desktop"
