"""What the Twitter task types and runtimes share: the models and the runtime contract."""

from .models import SearchFilters, Tweet, User
from .runtime import OnPage, TwitterRuntime

__all__ = ["OnPage", "SearchFilters", "Tweet", "TwitterRuntime", "User"]
