"""Which failures are outages (retried until they pass) and which are the event's own."""

import pytest
import sqlalchemy.exc
from sqlalchemy.exc import DBAPIError, IntegrityError

from kundonline_common.errors import is_outage


class DriverError(Exception):
    """What the asyncpg adapter raises: the server's SQLSTATE on `.sqlstate`."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wrapped(message: str, sqlstate: str | None) -> DBAPIError:
    return DBAPIError("SELECT 1", None, DriverError(message, sqlstate))


@pytest.mark.parametrize(
    ("message", "sqlstate"),
    [
        ("the database system is starting up", "57P03"),
        ("terminating connection due to administrator command", "57P01"),
        ("terminating connection because of crash of another server process", "57P02"),
        ("connection failure", "08006"),
        ("sorry, too many clients already", "53300"),
    ],
)
def test_a_database_that_is_away_is_an_outage(message: str, sqlstate: str) -> None:
    assert is_outage(wrapped(message, sqlstate))


@pytest.mark.parametrize(
    "exc",
    [
        wrapped('column "nope" does not exist', "42703"),
        wrapped("division by zero", "22012"),
        wrapped("no code", None),
        IntegrityError("INSERT", None, DriverError("duplicate key", "23505")),
        ValueError("a bug"),
    ],
)
def test_a_failure_of_the_statement_is_not(exc: Exception) -> None:
    assert not is_outage(exc)


def test_a_lost_connection_is_an_outage() -> None:
    assert is_outage(ConnectionResetError("peer reset"))
    assert is_outage(TimeoutError())


def test_a_pool_with_no_free_connection_is_an_outage() -> None:
    assert is_outage(sqlalchemy.exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"))
