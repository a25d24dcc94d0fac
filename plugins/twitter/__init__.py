"""What the Twitter task types and runtimes share: models, paging state, the runtime contract."""

from .models import SearchFilters, Tweet, User
from .paging import Paging
from .runtime import OnPage, TwitterRuntime

__all__ = ["OnPage", "Paging", "SearchFilters", "Tweet", "TwitterRuntime", "User"]
