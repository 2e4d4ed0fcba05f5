"""Who is asking, and which users' recommendations they may read."""

from __future__ import annotations

from dataclasses import dataclass

from schema.errors import Forbidden, Unauthenticated


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller as the gateway's authentication established it, for the resolvers to check.

    Recommendations reveal what a user did, so a field naming a `userId` is answered only for
    the caller's own user, unless the caller may read any user's (a trusted backend, or a token
    carrying the gateway's any-user scope). A caller with neither is anonymous and gets only
    what depends on items alone.
    """

    user_id: str | None = None  # the user the credentials speak for (a token's subject)
    any_user: bool = False  # may ask for any user's recommendations

    def authorize_user(self, field: str, user_id: str) -> str:
        """`user_id`, if this caller may ask `field` for that user; else the error saying why."""
        if self.any_user or user_id == self.user_id:
            return user_id
        if self.user_id is None:
            raise Unauthenticated(
                f"{field} for a user needs credentials: anonymous requests may ask only for "
                "item-based results (relatedItems without userId, item). Send a token in the "
                "Authorization header."
            )
        raise Forbidden(
            f"These credentials may ask {field} only for their own user "
            f"({self.user_id!r}), not for another user."
        )


UNRESTRICTED = Identity(any_user=True)
"""No authentication configured (development): every user may be asked for."""

ANONYMOUS = Identity()
"""A request without credentials, where the gateway lets such requests in."""
