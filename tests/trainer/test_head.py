"""The head: its quality block's hidden layer learns what a linear head cannot, a signal that
never varied in training cannot move the score, and its members are fitted each on its own
loss (class-weighted) and averaged, by the head and the exported model alike."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from photosieve.trainer import head as headlib
from photosieve.trainer import model as netlib
from photosieve.trainer import phases, split

pytestmark = pytest.mark.tf


def _two_sided(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal 0 is exposure-like: a discard when it is extreme either way (too dark or too
    bright), a keeper in the middle; signal 1 is noise. No line separates them."""
    rng = np.random.default_rng(seed)
    q = rng.normal(0, 1, (n, 2)).astype(np.float32)
    y = (np.abs(q[:, 0]) > 1.0).astype(np.int64)
    return np.zeros((n, 1), np.float32), q, y


def _fit(hidden: int | None) -> float:
    import keras

    keras.utils.set_random_seed(3)
    emb, q, y = _two_sided(600, 0)
    head, _ = headlib.build_head(1, headlib.Standardizer.fit(q), seed=3, hidden=hidden)
    train = phases.Split(emb, y, [str(i) for i in range(len(y))], q)
    settings = phases.FitSettings(60, 32, 3, 1e-2, 5, 0, split.class_weights(y.tolist()))
    phases.fit_head(head, train, phases.Split(emb[:0], y[:0], [], q[:0]), settings)
    t_emb, t_q, t_y = _two_sided(400, 1)
    scores = phases.predict(head, [t_emb, t_q], 64)
    return float(np.mean((scores > 0.5) == t_y))


def test_the_hidden_layer_learns_a_two_sided_signal() -> None:
    assert headlib.QUALITY_HIDDEN > 0
    linear = _fit(0)
    hidden = _fit(None)  # the product's head
    assert linear < 0.75  # a line cannot say "too dark or too bright"
    assert hidden > 0.9


def _head_with_constant_signal() -> tuple[Any, headlib.Standardizer]:
    import keras

    keras.utils.set_random_seed(5)
    rows = np.array([[0.0, 7.0], [1.0, 7.0], [2.0, 7.0]], np.float32)  # signal 1 never varies
    standardizer = headlib.Standardizer.fit(rows)
    head, _ = headlib.build_head(3, standardizer, seed=5)
    rng = np.random.default_rng(5)
    live = [
        layer for layer in head.layers if layer.name.startswith(("quality_hidden", "head_dense"))
    ]
    assert len(live) == 2 * headlib.HEAD_MEMBERS
    for layer in live:
        layer.set_weights(
            [rng.normal(0, 1, w.shape).astype(np.float32) for w in layer.get_weights()]
        )  # as if trained: all weights live
    return head, standardizer


def test_a_signal_constant_in_training_cannot_move_the_score() -> None:
    head, _ = _head_with_constant_signal()
    emb = np.full((3, 3), 0.5, np.float32)
    q = np.array([[1.0, 7.0], [1.0, -300.0], [1.0, 1e6]], np.float32)
    scores = phases.predict(head, [emb, q], 8)
    assert scores[0] == pytest.approx(scores[1], abs=1e-6) == pytest.approx(scores[2], abs=1e-6)
    nudged = q + np.array([[2.0, 0.0]], np.float32)
    moved = phases.predict(head, [emb, nudged], 8)
    assert abs(moved[0] - scores[0]) > 1e-3  # the varying signal still counts


def test_each_member_learns_on_its_own_and_the_full_model_gives_their_mean() -> None:
    import keras

    keras.utils.set_random_seed(4)
    _, q, y = _two_sided(600, 2)
    size = 32
    net = netlib.build_network(
        netlib.build_base("tiny", size, None), size, headlib.Standardizer.fit(q), seed=4
    )
    settings = phases.FitSettings(60, 32, 4, 1e-2, 5, 0, split.class_weights(y.tolist()))
    features = np.zeros((len(y), net.dim), np.float32)
    phases.fit_head(
        net.head,
        phases.Split(features, y, [str(i) for i in range(len(y))], q),
        phases.Split(features[:0], y[:0], [], q[:0]),
        settings,
    )
    _, t_q, t_y = _two_sided(200, 3)
    pixels = np.random.default_rng(3).integers(0, 256, (len(t_y), size, size, 3), np.uint8)
    pooled = np.asarray(net.embedder.predict_on_batch(pixels))
    members = np.asarray(net.head.predict_on_batch([pooled, t_q]))
    assert members.shape == (len(t_y), headlib.HEAD_MEMBERS)
    for k in range(headlib.HEAD_MEMBERS):
        assert np.mean((members[:, k] > 0.5) == t_y) > 0.9  # every member learned the rule
    assert np.ptp(members, axis=1).max() > 1e-3  # from their own starts: not one head x5
    full = phases.predict(net.full, [pixels, t_q], 64)
    assert full == pytest.approx(members.mean(axis=1), abs=1e-5)
    assert phases.predict(net.head, [pooled, t_q], 64) == pytest.approx(full, abs=1e-5)


def test_class_weights_reach_every_member() -> None:
    """Uninformative inputs, nine keepers to one discard: balanced class weights pull every
    member's score to about 0.5; unweighted they would sit near 0.1."""
    import keras

    keras.utils.set_random_seed(6)
    rng = np.random.default_rng(6)
    n = 400
    q = rng.normal(0, 1, (n, 2)).astype(np.float32)
    y = (np.arange(n) % 10 == 0).astype(np.int64)
    emb = np.zeros((n, 1), np.float32)
    train = phases.Split(emb, y, [str(i) for i in range(n)], q)
    for weights, low, high in (
        (split.class_weights(y.tolist()), 0.35, 0.65),
        ({0: 1.0, 1: 1.0}, 0.0, 0.25),
    ):
        keras.utils.set_random_seed(6)
        head, _ = headlib.build_head(1, headlib.Standardizer.fit(q), seed=6)
        phases.fit_head(
            head,
            train,
            phases.Split(emb[:0], y[:0], [], q[:0]),
            phases.FitSettings(20, 32, 6, 1e-2, 5, 0, weights),
        )
        members = np.asarray(head.predict_on_batch([emb, q])).mean(axis=0)
        assert ((members > low) & (members < high)).all(), (weights, members)


def _faint(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled features as a random InceptionV3 gives them (about 5e-4, varying by 1e-4, some
    never varying) whose first 8 carry the label (shifted by 1.5 of their spread); the signals are
    noise."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.int64)
    e = 5e-4 + 1e-4 * rng.normal(0, 1, (n, 64))
    e[:, :8] += 1.5e-4 * np.where(y[:, None] == 1, 1.0, -1.0)
    e[:, 60:] = 3e-4  # dead features
    return e.astype(np.float32), rng.normal(0, 1, (n, 2)).astype(np.float32), y


def _fit_faint(with_statistics: bool) -> tuple[float, Any, Any]:
    import keras

    keras.utils.set_random_seed(8)
    e, q, y = _faint(400, 0)
    stats = headlib.Standardizer.fit(e) if with_statistics else None
    head, fitted = headlib.build_head(
        e.shape[1], headlib.Standardizer.fit(q), seed=8, embedding=stats
    )
    settings = phases.FitSettings(40, 32, 8, 1e-3, 5, 0, split.class_weights(y.tolist()))
    train = phases.Split(e, y, [str(i) for i in range(len(y))], q)
    for model in fitted:
        phases.fit_head(model, train, phases.Split(e[:0], y[:0], [], q[:0]), settings)
    t_e, t_q, t_y = _faint(400, 1)
    accuracy = float(np.mean((phases.predict(head, [t_e, t_q], 64) > 0.5) == t_y))
    return accuracy, head, fitted


def test_a_faint_embedding_is_read_through_its_training_statistics() -> None:
    """Fed raw beside the signals, features of a random base's size barely move a logit; the
    two-tower head standardises them and learns from them."""
    raw, head, fitted = _fit_faint(False)
    assert fitted == (head,)  # no statistics: the single head of before
    assert raw < 0.7
    towers, head, fitted = _fit_faint(True)
    assert [m.name for m in fitted] == ["head_quality", "head_embedding"]
    assert all(int(m.output.shape[-1]) == headlib.HEAD_MEMBERS for m in fitted)
    assert towers > 0.9


def test_two_tower_scores_add_the_embedding_logit_at_fusion_weight() -> None:
    """Each member's score is sigmoid(quality logit + FUSION x embedding logit), read off the
    towers' own scores; the exported (full) model gives the members' mean."""
    import keras

    keras.utils.set_random_seed(9)
    size = 32
    rng = np.random.default_rng(9)
    base = netlib.build_base("tiny", size, None)
    pixels = rng.integers(0, 256, (40, size, size, 3), np.uint8)
    q = rng.normal(0, 1, (len(pixels), 3)).astype(np.float32)
    net0 = netlib.build_network(base, size)
    pooled = np.asarray(net0.embedder.predict_on_batch(pixels))
    net = netlib.build_network(
        base, size, headlib.Standardizer.fit(q), seed=9, embedding=headlib.Standardizer.fit(pooled)
    )
    assert net.towers is not None and net.fitted == net.towers
    for layer in net.head.layers:
        if layer.name.startswith(("quality_hidden", "head_dense")):
            layer.set_weights(
                [rng.normal(0, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()]
            )
    towers = np.hstack(
        [np.asarray(t.predict_on_batch([pooled, q]), np.float64) for t in net.towers]
    )  # the towers share the head's layers
    members = np.asarray(net.head.predict_on_batch([pooled, q]), np.float64)
    m = headlib.HEAD_MEMBERS
    assert towers.shape == (len(q), 2 * m) and members.shape == (len(q), m)

    def logit(p: np.ndarray) -> np.ndarray:
        return np.log(p / (1 - p))

    fused = 1 / (1 + np.exp(-(logit(towers[:, :m]) + headlib.FUSION * logit(towers[:, m:]))))
    assert members == pytest.approx(fused, abs=1e-4)
    assert np.ptp(towers[:, m:], axis=0).max() > 1e-2  # the embedding tower is live
    full = phases.predict(net.full, [pixels, q], 16)
    assert full == pytest.approx(members.mean(axis=1), abs=1e-5)
