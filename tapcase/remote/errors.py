"""Errors the CLI shows as one or two lines with the next step, never as a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

#: Exit codes: a usage or input error, and a failure to reach or use the cloud.
USAGE = 2
UNAVAILABLE = 3


class CliError(Exception):
    """What went wrong, and what to do about it."""

    def __init__(self, message: str, hint: str | None = None, code: int = USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


def explain(exc: BaseException, endpoint: str | None = None) -> CliError | None:
    """A botocore/boto3 failure as a :class:`CliError` (None: not one the CLI knows)."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ReadTimeoutError,
    )

    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, OSError) and exc.filename:
        return CliError(f"{exc.filename}: {exc.strerror or exc}", "check the path and its permissions")
    if isinstance(exc, EndpointConnectionError):
        where = endpoint or str(getattr(exc, "kwargs", {}).get("endpoint_url", "the endpoint"))
        return CliError(f"cannot reach {where}: nothing answers there",
                        "start a local cloud with `tapcase local serve`, or check --endpoint", UNAVAILABLE)
    if isinstance(exc, ReadTimeoutError):
        return CliError(f"{endpoint or 'AWS'} did not answer in time", "try again, or check --endpoint", UNAVAILABLE)
    if isinstance(exc, NoCredentialsError):
        return CliError("no AWS credentials found",
                        "configure them (aws configure, AWS_PROFILE), or use --endpoint with a local cloud", USAGE)
    if isinstance(exc, NoRegionError):
        return CliError("no AWS region given", "pass --region or set AWS_REGION", USAGE)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "the call")
        return CliError(f"{operation} refused: {error.get('Code', '?')}: {error.get('Message', '')}".rstrip(": "),
                        "check the stack name (--stack), region and permissions", UNAVAILABLE)
    return None


@contextmanager
def translated(endpoint: str | None = None) -> Iterator[None]:
    """Turn AWS client failures into :class:`CliError` inside the block."""
    try:
        yield
    except CliError:
        raise
    except Exception as exc:  # noqa: BLE001 - translated or re-raised
        cli = explain(exc, endpoint)
        if cli is None:
            raise
        raise cli from None


F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """A CLI command whose :class:`CliError` (and AWS client failures) end it with a short message."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import typer
        from rich.console import Console

        try:
            return func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - typer's own exits pass through
            if isinstance(exc, (typer.Exit, typer.Abort)) or type(exc).__module__.startswith("click"):
                raise
            cli = explain(exc, kwargs.get("endpoint"))
            if cli is None:
                raise
            console = Console(stderr=True, soft_wrap=True)
            console.print(f"[red]error:[/red] {cli.message}", highlight=False)
            if cli.hint:
                console.print(f"  {cli.hint}", highlight=False)
            raise typer.Exit(cli.code) from None

    return wrapper  # type: ignore[return-value]
