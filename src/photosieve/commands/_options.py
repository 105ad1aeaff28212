"""Options several commands share, declared once: `--config` (on the group), `--since`,
`--port`, `--no-browser` and `--dry-run`.

Each is a decorator, so a command lists it like any click option; what the option means to that
command (the help text) is the command's to say, while its name, type and parsing are the same
everywhere. `--since` parses a DATE here, so an unreadable or absurd one is a usage error before
a command does anything.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

Decorator = Callable[[click.decorators.FC], click.decorators.FC]

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DATE_FORMS = '"2026-11-30", "2026-11-30 08:00", ISO 8601, or a span like "2h" or "1d"'


def parse_since(text: str, now: float | None = None) -> float:
    """A time as epoch seconds; ValueError with a readable message if it is not one, or if
    it lies beyond what the system's clock can show."""
    span = _SPAN.match(text)
    if span:
        amount, unit = float(span.group(1)), span.group(2).lower()
        since = (time.time() if now is None else now) - amount * _UNIT[unit]
    else:
        try:
            since = datetime.fromisoformat(text.strip()).timestamp()  # naive: local time
        except ValueError:
            raise ValueError(f"{text!r} is not a time: use {DATE_FORMS}") from None
    try:
        time.localtime(since)
        datetime.fromtimestamp(since)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{text!r} is too far back for this system's clock") from None
    return since


class SinceType(click.ParamType):
    name = "DATE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_since(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def config_option() -> Decorator:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="PHOTOSIEVE_CONFIG",
        help="Config file (default: $XDG_CONFIG_HOME/photosieve/config.yaml; defaults if absent).",
    )


def since_option(help: str, *, required: bool = False) -> Decorator:
    return click.option("--since", type=SinceType(), required=required, metavar="DATE", help=help)


def dry_run_option(help: str) -> Decorator:
    return click.option("--dry-run", is_flag=True, help=help)


def port_option() -> Decorator:
    return click.option(
        "--port",
        type=click.IntRange(0, 65535),
        default=0,
        show_default=True,
        help="Port on 127.0.0.1 (0: a free one).",
    )


def no_browser_option() -> Decorator:
    return click.option(
        "--no-browser", is_flag=True, help="Only print the URL (e.g. when working over SSH)."
    )
