"""Options several commands share are declared once (commands/_options.py) and behave alike."""

from __future__ import annotations

import importlib

import click
import pytest
from click.testing import CliRunner

from photosieve.cli import COMMANDS, group
from photosieve.commands._options import SinceType


def _commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, module in COMMANDS.items():
        command = importlib.import_module(f"photosieve.commands.{module}").command
        found[name] = command
        if isinstance(command, click.Group):
            found.update({f"{name} {n}": c for n, c in command.commands.items()})
    return found


def _option(command: click.Command, flag: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and flag in param.opts:
            return param
    return None


@pytest.mark.parametrize("flag", ["--since", "--port", "--no-browser", "--dry-run"])
def test_a_shared_option_is_the_same_everywhere(flag: str) -> None:
    options = {n: o for n, c in _commands().items() if (o := _option(c, flag)) is not None}
    assert len(options) >= 2, f"{flag} is shared by several commands"
    kinds = {(type(o.type), o.is_flag, o.name, o.metavar) for o in options.values()}
    assert len(kinds) == 1, options


def test_since_is_parsed_by_one_type() -> None:
    since = [o for c in _commands().values() if (o := _option(c, "--since")) is not None]
    assert since and all(isinstance(o.type, SinceType) for o in since)


@pytest.mark.parametrize("name", ["undo", "restore"])
def test_an_absurd_since_is_a_usage_error_for_every_command(name: str) -> None:
    result = CliRunner().invoke(group, [name, "--since", "99999999999999999999w"])
    assert result.exit_code == 2 and "too far back" in result.output
