"""The handler thread pool's size: each thread holds its own database connections."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI


def thread_limit(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Return a lifespan that caps the threads running request handlers at `threads`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan
