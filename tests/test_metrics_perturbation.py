"""Flip probability, top-5 distance, mFR/mT5D against hand values and a loop reference."""

import numpy as np
import pytest
from scipy.stats import rankdata

from robustbench_dm.errors import UserError
from robustbench_dm.metrics import (
    flip_probability,
    flip_probability_per_video,
    is_noise_perturbation,
    mfr,
    mt5d,
    top5_classes,
    top5_distance,
    top5_distance_from_topk,
    top5_distance_from_topk_per_video,
    top5_distance_per_video,
)


# -- straightforward loop implementations of the published algorithm ----------------------
# hendrycks/robustness ImageNet-P/test.py (flip_prob, ranking_dist, dist), written as loops:
# stride 1 with a fixed first-frame reference for noise, stride d with a moving reference
# otherwise; ranks from rankdata(-logits, "ordinal"); per-video mean, then mean over videos.

def loop_flip_probability(predictions, noise, difficulty):
    step = 1 if noise else difficulty
    per_video = []
    for video in predictions:
        flips = []
        for start in range(step):
            reference = video[start]
            for prediction in video[start::step][1:]:
                flips.append(int(reference != prediction))
                if not noise:
                    reference = prediction
        per_video.append(np.mean(flips))
    return np.array(per_video)


def loop_top5_distance(logits, noise, difficulty):
    classes = logits.shape[-1]
    capped = np.cumsum([0] + [1] * 5 + [0] * (classes - 1 - 5))  # capped[r - 1] = min(r - 1, 5)
    step = 1 if noise else difficulty
    per_video = []
    for video in logits:
        ranks = [rankdata(-frame, method="ordinal") for frame in video]
        distances = []
        for start in range(step):
            inverse = np.argsort(ranks[start])
            for rank in ranks[start::step][1:]:
                sigma = rank[inverse]
                distances.append(np.sum(np.abs(capped[:5] - capped[sigma - 1][:5])))
                if not noise:
                    inverse = np.argsort(rank)
        per_video.append(np.mean(distances))
    return np.array(per_video)


# -- hand-computed values --------------------------------------------------------------------

def test_flip_probability_hand_values():
    predictions = np.array([[0, 1, 1, 1, 1], [2, 2, 3, 2, 3]])
    # video 0: consecutive 1,0,0,0 -> 1/4; vs frame 0: 1,1,1,1 -> 1;
    #          stride 2: (0,1)(1,1)(1,1) -> 1/3
    # video 1: consecutive 0,1,1,1 -> 3/4; vs frame 0: 0,1,0,1 -> 1/2;
    #          stride 2: (2,3)(2,2)(3,3) -> 1/3
    assert flip_probability_per_video(predictions, noise=False).tolist() == [0.25, 0.75]
    assert flip_probability(predictions, noise=False) == pytest.approx(0.5)
    assert flip_probability(predictions, noise=True) == pytest.approx(0.75)
    assert flip_probability(predictions, noise=False, difficulty=2) == pytest.approx(1 / 3)
    # noise uses the first-frame reference whatever the difficulty (it selects other videos)
    assert flip_probability(predictions, noise=True, difficulty=3) == pytest.approx(0.75)


def _logits_from_orders(orders, classes=10):
    """Frames whose classes rank in the given order (best first); the rest score lower."""
    frames = np.zeros((len(orders), classes), dtype=np.float32)
    for frame, order in zip(frames, orders):
        frame[:] = -np.arange(classes) - 100.0
        frame[list(order)] = -np.arange(len(order), dtype=np.float32)
    return frames


def test_top5_distance_hand_values():
    logits = _logits_from_orders([(0, 1, 2, 3, 4), (1, 0, 2, 3, 4), (5, 6, 7, 8, 9)])[None]
    # frame1 vs frame0: classes 0 and 1 swap -> |0-1| + |1-0| = 2
    # frame2 vs frame1: none of 1,0,2,3,4 in the new top-5 -> 5+4+3+2+1 = 15
    # frame2 vs frame0 (noise): also 15
    assert top5_distance(logits, noise=False) == pytest.approx((2 + 15) / 2)
    assert top5_distance(logits, noise=True) == pytest.approx((2 + 15) / 2)
    assert top5_distance(logits, noise=False, difficulty=2) == pytest.approx(15)


def test_top5_distance_rank_cap_at_six():
    # class 0 falls from rank 1 to rank 9: capped at 6 -> |0 - 5| = 5; classes 1..4 move up one.
    logits = _logits_from_orders([(0, 1, 2, 3, 4, 5, 6, 7, 8), (1, 2, 3, 4, 5, 6, 7, 8, 0)])[None]
    assert top5_distance(logits, noise=False) == pytest.approx(5 + 4 * 1)


# -- against the loop reference on random inputs ----------------------------------------------

@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_flip_probability_matches_loop(noise, difficulty):
    rng = np.random.default_rng(10 * difficulty + noise)
    predictions = rng.integers(0, 3, size=(40, 31))
    expected = loop_flip_probability(predictions, noise, difficulty)
    got = flip_probability_per_video(predictions, noise=noise, difficulty=difficulty)
    np.testing.assert_array_equal(got, expected)
    assert flip_probability(predictions, noise=noise, difficulty=difficulty) == pytest.approx(
        expected.mean(), rel=1e-13)


@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("difficulty", [1, 2, 3])
@pytest.mark.parametrize("classes", [10, 100])
def test_top5_distance_matches_loop(noise, difficulty, classes):
    rng = np.random.default_rng(difficulty + 7 * noise + classes)
    # a shared drift keeps consecutive frames' rankings related, so distances span 0..15
    base = rng.standard_normal((12, 1, classes))
    logits = (base + 0.3 * rng.standard_normal((12, 21, classes))).astype(np.float32)
    expected = loop_top5_distance(logits, noise, difficulty)
    got = top5_distance_per_video(logits, noise=noise, difficulty=difficulty)
    np.testing.assert_array_equal(got, expected)
    assert top5_distance(logits, noise=noise, difficulty=difficulty) == pytest.approx(
        expected.mean(), rel=1e-13)


def test_top5_order_with_ties_matches_ordinal_ranks():
    rng = np.random.default_rng(3)
    logits = rng.integers(0, 4, size=(300, 12)).astype(np.float64)  # many ties
    ranks = np.array([rankdata(-row, method="ordinal") for row in logits])
    expected = np.argsort(ranks, axis=1)[:, :5]
    np.testing.assert_array_equal(top5_classes(logits), expected)
    videos = logits.reshape(20, 15, 12)
    np.testing.assert_array_equal(
        top5_distance_per_video(videos, noise=False), loop_top5_distance(videos, False, 1))


@pytest.mark.parametrize("k", [5, 7])
@pytest.mark.parametrize("noise, difficulty", [(False, 1), (False, 3), (True, 2)])
def test_top5_distance_from_topk_equals_logits_version(k, noise, difficulty):
    rng = np.random.default_rng(k + difficulty)
    base = rng.standard_normal((15, 1, 1000))
    logits = (base + 0.05 * rng.standard_normal((15, 31, 1000))).astype(np.float32)
    topk = np.argsort(-logits, axis=-1, kind="stable")[..., :k].astype(np.int32)
    np.testing.assert_array_equal(
        top5_distance_from_topk_per_video(topk, noise=noise, difficulty=difficulty),
        top5_distance_per_video(logits, noise=noise, difficulty=difficulty),
    )
    assert top5_distance_from_topk(topk, noise=noise, difficulty=difficulty) == top5_distance(
        logits, noise=noise, difficulty=difficulty)


def test_translate_length_videos():
    rng = np.random.default_rng(0)
    predictions = rng.integers(0, 2, size=(5, 41))
    np.testing.assert_array_equal(
        flip_probability_per_video(predictions, noise=False, difficulty=2),
        loop_flip_probability(predictions, False, 2))


# -- mFR / mT5D -------------------------------------------------------------------------------

def test_mfr_and_mt5d_hand_values_keyed_by_name():
    values = {"gaussian_noise": 0.2, "rotate": 0.3}
    baseline = {"rotate": 0.6, "gaussian_noise": 0.4, "scale": 0.9}
    assert mfr(values, baseline) == pytest.approx(0.5)
    assert mt5d({"rotate": 1.5, "tilt": 3.0}, {"tilt": 2.0, "rotate": 3.0}) == pytest.approx(1.0)


def test_mfr_without_baseline_says_why():
    with pytest.raises(UserError, match="AlexNet"):
        mfr({"rotate": 0.3}, None)
    with pytest.raises(UserError, match="baseline"):
        mt5d({"rotate": 0.3}, None)


def test_mfr_missing_baseline_perturbation():
    with pytest.raises(UserError, match="tilt"):
        mfr({"rotate": 0.3, "tilt": 0.1}, {"rotate": 0.5})
    with pytest.raises(UserError, match="> 0"):
        mfr({"rotate": 0.3}, {"rotate": 0.0})


def test_is_noise_perturbation():
    assert is_noise_perturbation("gaussian_noise")
    assert is_noise_perturbation("speckle_noise")
    assert not is_noise_perturbation("snow")
    assert not is_noise_perturbation("translate")


# -- bad input --------------------------------------------------------------------------------

def test_bad_inputs():
    with pytest.raises(UserError, match="integer"):
        flip_probability(np.zeros((2, 5)), noise=False)
    with pytest.raises(UserError, match="2-d"):
        flip_probability(np.zeros(5, dtype=int), noise=False)
    with pytest.raises(UserError, match="difficulty"):
        flip_probability(np.zeros((2, 5), dtype=int), noise=False, difficulty=4)
    with pytest.raises(UserError, match="frame"):
        flip_probability(np.zeros((2, 2), dtype=int), noise=False, difficulty=2)
    logits = np.zeros((2, 4, 10), dtype=np.float32)
    logits[1, 2, 3] = np.nan
    with pytest.raises(UserError, match="finite"):
        top5_distance(logits, noise=False)
    with pytest.raises(UserError, match="5 classes"):
        top5_distance(np.zeros((2, 4, 3), dtype=np.float32), noise=False)
    with pytest.raises(UserError, match="videos x frames x classes"):
        top5_distance(np.zeros((4, 10), dtype=np.float32), noise=False)
    with pytest.raises(UserError, match="floating"):
        top5_distance(np.zeros((2, 4, 10), dtype=np.int64), noise=False)
    with pytest.raises(UserError, match="at least 5"):
        top5_distance_from_topk(np.zeros((2, 4, 3), dtype=np.int32), noise=False)
    with pytest.raises(UserError, match="twice"):
        top5_distance_from_topk(np.zeros((2, 4, 5), dtype=np.int32), noise=False)
    with pytest.raises(UserError, match=">= 0"):
        top5_distance_from_topk(np.full((2, 4, 5), -1, dtype=np.int32), noise=False)
