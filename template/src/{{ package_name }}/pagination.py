"""Paginated lists: the bounds of every page, and the query that reads a page with its total."""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import InstrumentedAttribute

MAX_PAGE_SIZE = 100
# Deep offsets make the database skip that many rows, and past 64 bits they overflow.
MAX_OFFSET = 100_000

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


class PageQuery:
    """Reads a page of rows in one sort order, with the number of rows across all pages.

    The statements are built once, one per sort order; `unique` breaks ties, so pages never
    overlap. A window count gives the total with the page in one round trip.
    """

    def __init__(
        self,
        columns: Sequence[InstrumentedAttribute[Any]],
        *,
        order_by: Mapping[str, ColumnElement[Any]],
        unique: InstrumentedAttribute[Any],
        where: ColumnElement[bool] | None = None,
    ) -> None:
        rows = select(*columns) if where is None else select(*columns).where(where)
        counted = rows.add_columns(func.count().over().label("total"))
        self._pages = {
            sort: counted.order_by(order, unique)
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
            for sort, order in order_by.items()
        }
        self._count = rows.with_only_columns(func.count(), maintain_column_froms=True)

    async def fetch(
        self,
        connection: AsyncConnection,
        sort: str,
        *,
        limit: int,
        offset: int,
        **parameters: object,
    ) -> tuple[Sequence[Any], int]:
        """The page's rows and the total; `parameters` fill the bound parameters of `where`."""
        values = {"limit": limit, "offset": offset, **parameters}
        rows = (await connection.execute(self._pages[sort], values)).all()
        # Past the last page there is no row to carry the total.
        total = rows[0].total if rows else await connection.scalar(self._count, values) or 0
        return rows, total
