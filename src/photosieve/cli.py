"""The `photosieve` command line: one click group, one module per command, one error boundary.

Commands live in `photosieve.commands.<module>` and are imported only when invoked (or when
`--help` lists them), so `photosieve --help`, `status` and `watch` start without TensorFlow.
Every expected failure is a PhotosieveError shown as one line; tracebacks only with --verbose.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from photosieve import __version__, libnoise
from photosieve.commands._options import config_option
from photosieve.config import Config, load_config
from photosieve.errors import EscapingFormatter, PhotosieveError
from photosieve.state import State, open_state

# command name -> module in photosieve.commands exposing `command`
COMMANDS = {
    "watch": "watch",
    "scan": "scan",
    "status": "status",
    "check-config": "check_config",
    "label": "label",
    "train": "train",
    "classify": "classify",
    "models": "models",
    "review": "review",
    "restore": "restore",
    "purge": "purge",
    "retrain": "retrain",
    "undo": "undo",
}

log = logging.getLogger("photosieve")


@dataclass
class App:
    """What every command shares: the config (loaded once, on demand) and the state database."""

    config_path: Path | None
    verbose: bool
    _config: Config | None = None
    _state: State | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path, required=self.config_path is not None)
        return self._config

    def state(self) -> State:
        if self._state is None:
            self._state = open_state(self.config.state_dir)
        return self._state

    def close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"photosieve.commands.{module_name}")
        command: click.Command = module.command
        return command


def setup_logging(verbose: bool, level: str = "info") -> None:
    """Log to stderr (journald adds time stamps under systemd, so we add none there)."""
    under_journal = "JOURNAL_STREAM" in __import__("os").environ
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if under_journal
        else ("%(asctime)s %(levelname)s %(message)s")
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter(fmt, datefmt="%H:%M:%S"))  # names of any bytes
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else getattr(logging, level.upper(), logging.INFO))
    libnoise.install()  # before any decode thread starts: Pillow's noise goes to this log


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@config_option()
@click.option("-v", "--verbose", is_flag=True, help="Debug logging and full tracebacks.")
@click.version_option(__version__, prog_name="photosieve")
@click.pass_context
def group(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """photosieve keeps a photo library clean: it stamps new photos with their capture time,
    files them, and moves likely discards into a quarantine you review. It never deletes a photo.
    """
    # Absolute before it is stored: SIGHUP reloads this path whatever the working directory is.
    app = App(None if config_path is None else config_path.absolute(), verbose)
    ctx.obj = app
    ctx.call_on_close(app.close)
    setup_logging(verbose)


def get_app(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    assert app is not None, "commands run inside the photosieve group"
    return app


def main(argv: list[str] | None = None) -> Any:
    """Entry point: the one error boundary for every command."""
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    try:
        return group.main(args=argv, prog_name="photosieve", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("photosieve: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PhotosieveError as exc:
        if verbose:
            raise
        click.echo(f"photosieve: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the boundary: one clear line, traceback only with --verbose
        if verbose:
            raise
        click.echo(
            f"photosieve: unexpected error: {type(exc).__name__}: {exc} "
            "(run with --verbose for details)",
            err=True,
        )
        sys.exit(1)
