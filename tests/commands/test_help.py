"""Every command answers --help, and the CLI starts without TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from photosieve.cli import COMMANDS, group


def test_group_help_lists_every_command() -> None:
    result = CliRunner().invoke(group, ["--help"])
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_has_help(name: str) -> None:
    result = CliRunner().invoke(group, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_help_and_status_do_not_import_tensorflow() -> None:
    code = (
        "import sys\n"
        "from photosieve.cli import main\n"
        "for argv in (['--help'], ['status'], ['check-config']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
        "assert 'keras' not in sys.modules, 'keras imported'\n"
        "print('clean')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "clean" in out.stdout


def test_errors_are_one_line_without_verbose(tmp_path: object) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "photosieve", "--config", "/nonexistent/photosieve.yaml", "status"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0
    assert "config file not found" in out.stderr
    assert "Traceback" not in out.stderr
