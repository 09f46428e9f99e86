"""The bounds of every paginated list: a page size cap and an offset cap."""

from typing import Annotated

from fastapi import Query

MAX_PAGE_SIZE = 100
# Deep offsets make the database skip that many rows, and past 64 bits they overflow.
MAX_OFFSET = 100_000

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
