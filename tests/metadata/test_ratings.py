"""The XMP rating/pick -> keep/discard mapping, as the README documents it."""

from __future__ import annotations

import pytest

from photosieve.metadata import ratings
from photosieve.metadata.ratings import PICK_KEY, RATING_KEY, Verdict, verdict


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({RATING_KEY: "-1"}, Verdict("discard", ratings.REJECTED_RATING)),
        ({RATING_KEY: "5"}, Verdict("keep", ratings.RATED_KEEP)),
        ({RATING_KEY: "2"}, Verdict("keep", ratings.RATED_KEEP)),
        ({RATING_KEY: "1"}, Verdict(None, ratings.RATED_BELOW)),
        ({RATING_KEY: "0"}, Verdict(None, ratings.UNRATED)),
        ({}, Verdict(None, ratings.UNRATED)),
        ({RATING_KEY: "three"}, Verdict(None, ratings.UNRATED)),
        ({RATING_KEY: "63"}, Verdict(None, ratings.UNRATED)),
        ({RATING_KEY: "nan"}, Verdict(None, ratings.UNRATED)),
        ({PICK_KEY: "1"}, Verdict("discard", ratings.REJECTED_PICK)),
        ({PICK_KEY: "3"}, Verdict("keep", ratings.ACCEPTED_PICK)),
        ({PICK_KEY: "2"}, Verdict(None, ratings.UNRATED)),
        ({PICK_KEY: "0", RATING_KEY: "4"}, Verdict("keep", ratings.RATED_KEEP)),
    ],
)
def test_mapping(tags: dict[str, str], expected: Verdict) -> None:
    assert verdict(tags) == expected


def test_a_digikam_pick_wins_over_the_stars() -> None:
    assert verdict({PICK_KEY: "1", RATING_KEY: "5"}).label == "discard"
    assert verdict({PICK_KEY: "3", RATING_KEY: "-1"}).label == "keep"


def test_the_keep_threshold_is_the_owners() -> None:
    assert verdict({RATING_KEY: "3"}, keep_from=4).label is None
    assert verdict({RATING_KEY: "1"}, keep_from=1).label == "keep"
    with pytest.raises(ValueError):
        verdict({}, keep_from=0)
