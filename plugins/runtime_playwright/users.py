"""X user objects -> ``User``, in the 2024 (``legacy``) and 2026 (``core``, no legacy) shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roost.plugins.twitter.models import User

from .fields import ShapeError, dig, to_datetime, to_int


@dataclass
class UserLookup:
    """What ``UserByScreenName`` said: the user, or why there is none."""

    user: User | None
    unavailable: str | None = None  # "not found", "suspended", ...


def parse_user(result: Any) -> User | None:
    """A ``user_results.result`` in the 2024 (``legacy``) or 2026 (``core``...) shape."""
    if not isinstance(result, dict) or not result:
        return None
    if result.get("__typename") == "UserUnavailable":
        return None
    legacy: dict[str, Any] = result["legacy"] if isinstance(result.get("legacy"), dict) else {}
    core: dict[str, Any] = result["core"] if isinstance(result.get("core"), dict) else {}
    user_id = result.get("rest_id") or legacy.get("id_str")
    screen_name = core.get("screen_name") or legacy.get("screen_name")
    if not user_id or not screen_name:
        raise ShapeError("user without rest_id or screen_name")

    def first(*values: Any) -> Any:
        return next((v for v in values if v is not None), None)

    return User(
        id=str(user_id),
        screen_name=str(screen_name),
        name=str(first(core.get("name"), legacy.get("name"), "")),
        created_at=to_datetime(first(core.get("created_at"), legacy.get("created_at"))),
        followers=to_int(
            first(dig(result, "relationship_counts", "followers"), legacy.get("followers_count"))
        ),
        following=to_int(
            first(dig(result, "relationship_counts", "following"), legacy.get("friends_count"))
        ),
        tweets=to_int(first(dig(result, "tweet_counts", "tweets"), legacy.get("statuses_count"))),
        verified=bool(first(dig(result, "verification", "verified"), legacy.get("verified"))),
        blue_verified=bool(result.get("is_blue_verified")),
        protected=bool(first(dig(result, "privacy", "protected"), legacy.get("protected"))),
        avatar_url=first(dig(result, "avatar", "image_url"), legacy.get("profile_image_url_https")),
    )


def parse_user_lookup(body: Any) -> UserLookup:
    """``UserByScreenName``: the user, or "not found" / "suspended" / the unavailable reason."""
    result = dig(body, "data", "user", "result")
    if not isinstance(result, dict) or not result:
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            return UserLookup(None, "not found")
        raise ShapeError("UserByScreenName response without data")
    if result.get("__typename") == "UserUnavailable":
        reason = str(result.get("reason") or result.get("message") or "unavailable")
        return UserLookup(None, reason.lower())
    return UserLookup(parse_user(result))
