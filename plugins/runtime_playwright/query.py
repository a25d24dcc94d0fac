"""Search query + structured filters -> X search operators and the search page URL."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from roost.plugins.twitter.models import SearchFilters

PRODUCT_PARAM = {"Latest": "live", "Top": "top", "Media": "media"}
QUOTED = re.compile(r'"[^"]*"')


def _operators(raw: str) -> set[str]:
    """Operators already in ``raw`` (``from``, ``filter:replies``...); quoted text ignored."""
    found: set[str] = set()
    for token in QUOTED.sub(" ", raw).split():
        token = token.lstrip("-(").lower()
        name, sep, value = token.partition(":")
        if not sep or not name:
            continue
        found.add(name)
        if name == "filter":
            found.add(f"filter:{value}")
    return found


def build_query(raw: str, filters: SearchFilters) -> str:
    """``raw`` plus one operator per filter, skipping any operator ``raw`` already has."""
    have = _operators(raw)
    media_ops = {"filter:media", "filter:images", "filter:videos", "filter:native_video"}
    wanted: list[tuple[str, str]] = [
        ("from", f"from:{filters.from_user}" if filters.from_user else ""),
        ("to", f"to:{filters.to_user}" if filters.to_user else ""),
        ("lang", f"lang:{filters.lang}" if filters.lang else ""),
        ("since", f"since:{filters.since.isoformat()}" if filters.since else ""),
        ("until", f"until:{filters.until.isoformat()}" if filters.until else ""),
        ("min_faves", f"min_faves:{filters.min_faves}" if filters.min_faves is not None else ""),
        (
            "min_retweets",
            f"min_retweets:{filters.min_retweets}" if filters.min_retweets is not None else "",
        ),
        (
            "min_replies",
            f"min_replies:{filters.min_replies}" if filters.min_replies is not None else "",
        ),
        ("filter:replies", "-filter:replies" if filters.exclude_replies else ""),
        ("filter:retweets", "-filter:retweets" if filters.exclude_retweets else ""),
        ("filter:links", "filter:links" if filters.links else ""),
    ]
    parts = [raw.strip()] if raw.strip() else []
    parts += [op for name, op in wanted if op and name not in have]
    if filters.media and not (have & media_ops):
        parts.append(f"filter:{filters.media}")
    return " ".join(parts)


def search_url(base_url: str, raw: str, filters: SearchFilters) -> str:
    """The page a person would open: ``<base>/search?q=...&src=typed_query&f=live``."""
    params = {
        "q": build_query(raw, filters),
        "src": "typed_query",
        "f": PRODUCT_PARAM[filters.product],
    }
    return f"{base_url.rstrip('/')}/search?{urlencode(params, quote_via=quote)}"


def profile_url(base_url: str, username: str) -> str:
    return f"{base_url.rstrip('/')}/{quote(username)}"
