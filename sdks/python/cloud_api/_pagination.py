"""Pages of a list: ``.data`` and ``.has_more``; ``auto_paging_iter()`` walks every item."""

from typing import Any, Callable, Dict, Iterator, List, Optional

Item = Dict[str, Any]


def cursor_of(item: Any) -> Optional[str]:
    """The ``starting_after`` cursor of an item: its ``id`` (members: their ``user_id``)."""
    if not isinstance(item, dict):
        return None
    cursor = item.get("id", item.get("user_id"))
    return cursor if isinstance(cursor, str) else None


class Page:
    """One page of a list, as the platform answered it."""

    def __init__(self, body: Dict[str, Any], fetch: Callable[[Optional[str]], "Page"]) -> None:
        self.data: List[Item] = list(body.get("data") or [])
        self.has_more: bool = bool(body.get("has_more"))
        self._fetch = fetch

    def __iter__(self) -> Iterator[Item]:
        """The items of this page only (see :meth:`auto_paging_iter`)."""
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return "Page(data=<%d items>, has_more=%r)" % (len(self.data), self.has_more)

    def next_page(self) -> Optional["Page"]:
        cursor = cursor_of(self.data[-1]) if self.data else None
        if not self.has_more or cursor is None:
            return None
        return self._fetch(cursor)

    def auto_paging_iter(self) -> Iterator[Item]:
        """Every item of this page and of the pages after it, fetched as they are needed."""
        page: Optional[Page] = self
        while page is not None:
            for item in page.data:
                yield item
            page = page.next_page()
