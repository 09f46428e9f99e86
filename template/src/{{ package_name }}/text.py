"""Text types for every string that reaches SQL, so each database gets only what all can store."""

from typing import Annotated

from pydantic import StringConstraints

# PostgreSQL cannot store or compare NUL characters in text; refusing them up front answers 422
# instead of a database error, and keeps every database alike. The schema shows the pattern.
DatabaseText = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]

# Trimmed, with at least one visible character; the pattern says so to schema-based clients.
NonBlankText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$"),
]
