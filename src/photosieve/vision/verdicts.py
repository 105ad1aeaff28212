"""Verdicts: the human reasons quality signals give, and the cold-start rule.

`explain` says what is clearly wrong with a photo ("near-black", "blurred", "screenshot"...)
for the service's reasons and the review page; the burst stage reads it to know which frames
lean discard. `unmistakable_defect` is the rule the service applies before any model exists,
so each of its verdicts needs several independent signals to agree. Both read the signals of
`quality.compute_signals` only; the thresholds live here, in the signals' raw units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from photosieve.vision.quality import WORK_SIZE

# Verdict thresholds, in raw units (compared after the same log1p as the signals).
BLUR_TILE_VAR = 40.0  # explain "blurred": even the sharpest tile is soft (crisp: 500+)
EXTREME_BLUR_TILE_VAR = 6.0  # cold start: nothing anywhere above quantisation-level detail
EXTREME_BLUR_MIN_GRADIENT = 2.5  # ...yet there is a scene (a smooth sky gradient: < 1)
BLOWN_CLIPPED = 0.4  # explain "blown highlights": 40 % of the frame clipped (keepers < 0.36)
BLUR_REBLUR = 0.5  # explain "blurred" also needs the softness to be smear (crisp: 0.15-0.5)


def explain(signals: Mapping[str, float]) -> list[str]:
    """Human reasons the signals give, most telling first; only what is clearly so.

    "blurred" is given only when nothing else explains low detail (a dark, flat or rendered
    image has little fine detail whatever its focus), only for originals big enough to judge,
    and only when the softness is smear (reblur): a sky, mist or a soft but grainy scene has
    little detail without being out of focus.
    """
    reasons: list[str] = []
    if _near_black(signals):
        reasons.append("near-black")
    elif signals["dark_fraction"] > 0.85 and signals["brightness_mean"] < 0.12:
        reasons.append("dark")
    if _looks_screenshot(signals, strict=False):
        reasons.append("screenshot")
    elif signals["text_likeness"] >= 0.6:
        reasons.append("text/UI")
    uniform = signals["brightness_std"] < 0.03 and signals["edge_density"] < 0.002
    if uniform and not reasons:
        reasons.append("flat")
    if not (reasons or uniform) and _blurred(signals, BLUR_TILE_VAR) and _smeared(signals):
        reasons.append("blurred")
    if (
        signals["bright_fraction"] > 0.4
        and signals["brightness_mean"] > 0.8
        and signals["text_likeness"] < 0.5
        and "screenshot" not in reasons
    ):
        reasons.append("overexposed")
    elif (
        signals.get("clipped_fraction", 0.0) >= BLOWN_CLIPPED
        and "screenshot" not in reasons
        and signals["text_likeness"] < 0.5
    ):
        reasons.append("blown highlights")
    return reasons


def unmistakable_defect(signals: Mapping[str, float]) -> str | None:
    """The cold-start rule: "near-black", "extreme blur", "screenshot" or None.

    Conservative by design: it runs with no model to check it, so each verdict needs several
    independent signals to agree. A night photo keeps its lights (lit_fraction) and their sharp
    edges; a smooth sky has too little gradient to be "extreme blur"; a screenshot needs no
    camera, an exact screen size and UI-looking pixels.
    """
    if _near_black(signals):
        return "near-black"
    if _looks_screenshot(signals, strict=True):
        return "screenshot"
    if (
        _blurred(signals, EXTREME_BLUR_TILE_VAR)
        and signals["gradient_energy"] >= math.log1p(EXTREME_BLUR_MIN_GRADIENT)
        and signals["edge_density"] < 0.001
        and signals["dark_fraction"] < 0.5
    ):
        return "extreme blur"
    return None


def _near_black(signals: Mapping[str, float]) -> bool:
    """Nearly every pixel black, no lights (< 0.05% lit) and no sharp detail anywhere."""
    return (
        signals["dark_fraction"] >= 0.97
        and signals["brightness_mean"] < 0.03
        and signals["lit_fraction"] < 0.0005
        and signals["sharpness_tile_max"] < math.log1p(BLUR_TILE_VAR)
    )


def _blurred(signals: Mapping[str, float], tile_var: float) -> bool:
    """Even the sharpest tile is soft, on an image big enough to judge at the work size."""
    long_side = math.sqrt(math.expm1(signals["megapixels"]) * 1e6 * signals["aspect"])
    return signals["sharpness_tile_max"] < math.log1p(tile_var) and long_side >= 0.95 * WORK_SIZE


def _smeared(signals: Mapping[str, float]) -> bool:
    """A re-blur barely changes the neighbour differences. Signals stored before reblur existed
    lack it and are judged on sharpness alone."""
    return signals.get("reblur", 1.0) >= BLUR_REBLUR


def _looks_screenshot(signals: Mapping[str, float], *, strict: bool) -> bool:
    """No camera and a screen's exact size, plus UI-looking pixels; explanations (not strict)
    also accept any camera-less PNG at a screen size."""
    if signals["no_camera"] < 0.5 or signals["screen_sized"] < 0.5:
        return False
    ui_pixels = signals["text_likeness"] >= 0.5 or (
        signals["png"] >= 0.5 and signals["flat_fraction"] >= 0.3
    )
    return ui_pixels or (not strict and signals["png"] >= 0.5)
