"""The two media keys: metadata.write_xmp and videos, their defaults and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosieve.config import Config, parse_config
from photosieve.errors import ConfigError


def test_defaults_write_nothing_and_file_videos() -> None:
    assert Config().metadata.write_xmp is None
    assert Config().videos == "file"


def test_values_are_read(tmp_path: Path) -> None:
    config = parse_config({"metadata": {"write_xmp": "sidecar"}, "videos": "leave"}, base=tmp_path)
    assert (config.metadata.write_xmp, config.videos) == ("sidecar", "leave")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"metadata": {"write_xmp": "embedded"}}, "metadata.write_xmp"),
        ({"metadata": {"write_xmp": False}}, "metadata.write_xmp"),
        ({"videos": "skip"}, "videos"),
        ({"metadata": {"rating": 1}}, "metadata.rating"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(data, base=tmp_path)
    assert key in str(err.value)
