"""The date benchmark's comparison rule: agreement to the second, coarser only where exiftool's
own value is coarser (benchmarks/dates.py). Pure functions, no exiftool, no corpus."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "dates.py"


@pytest.fixture(scope="module")
def dates() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dates_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2009:10:27 12:14:34", ("second", "2009:10:27 12:14:34")),
        ("2013:01:30 19:30:52+04:00", ("second", "2013:01:30 19:30:52")),
        ("2004:06:21 23:37:53.12", ("second", "2004:06:21 23:37:53")),
        ("2009:10:27 12:14", ("minute", "2009:10:27 12:14:00")),
        ("2009:10:27 12:14+02:00", ("minute", "2009:10:27 12:14:00")),
        ("2009:10:27", ("day", "2009:10:27 00:00:00")),
        ("0000:00:00 00:00:00", None),
        ("1904:01:01 00:00:00+00:00", None),  # an unset QuickTime header
        ("    :  :     :  :  ", None),
        ("2009:13:27 12:14:34", None),
        ("7/18/05 2:33 PM", None),
        ("", None),
    ],
)
def test_parse_an_exiftool_value(
    dates: ModuleType, value: str, parsed: tuple[str, str] | None
) -> None:
    assert dates.parse_value(value) == parsed


@pytest.mark.parametrize(
    ("raw", "minutes"),
    [
        ("2009/10/27 12:14:34", True),  # Pentax.avi: exiftool prints 12:14:00
        ("2001/ 1/27  1:42PM", True),  # the Casio QV-3EX form RIFF.pm names
        ("2005/11/28/ 09:19", True),
        ("Mon Mar 10 15:04:43 2003.", False),  # RIFF.avi: the standard form, to the second
        ("2002-12-16  15:35:01", False),  # Konica's dashed form, to the second
    ],
)
def test_which_idit_texts_exiftool_reads_to_the_minute(
    dates: ModuleType, raw: str, minutes: bool
) -> None:
    assert dates.riff_reads_minutes(raw) is minutes


def _row(dates: ModuleType, reference: str, precision: str, ours: str) -> object:
    wall = dates.parse_value(reference)[1]
    ref = dates.Reference(reference, "RIFF:DateTimeOriginal", precision, wall)
    return dates.Row(Path("clip.avi"), ref, ours, "container:CreationDate")


def test_agreement_is_to_the_second_unless_exiftool_is_coarser(dates: ModuleType) -> None:
    theirs, ours = "2009:10:27 12:14:00", "2009:10:27 12:14:34"
    assert not _row(dates, theirs, "second", ours).agrees
    assert _row(dates, theirs, "minute", ours).agrees
    assert _row(dates, theirs, "second", "2009:10:27 12:14:00").agrees


def test_a_coarser_reference_still_needs_the_same_minute_or_day(dates: ModuleType) -> None:
    assert not _row(dates, "2009:10:27 12:14:00", "minute", "2009:10:27 12:15:00").agrees
    assert _row(dates, "2009:10:27", "day", "2009:10:27 23:59:59").agrees
    assert not _row(dates, "2009:10:27", "day", "2009:10:28 00:00:00").agrees


def test_a_refused_file_never_agrees(dates: ModuleType) -> None:
    assert not _row(dates, "2009:10:27", "day", "").agrees
