"""Runs one command in one unit of work for a route, committing before the reply is sent."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request

T = TypeVar("T")


async def handle(request: Request, command: Callable[..., Awaitable[T]], **kwargs: Any) -> T:
    """A route's whole body: the commit happens here, so a 2xx means it is durable."""
    async with request.app.state.runtime.unit_of_work() as uow:
        return await command(uow=uow, **kwargs)
