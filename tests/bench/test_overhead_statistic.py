"""The overhead ratio is the median of per-repeat paired ratios, not a ratio of pooled medians."""

from __future__ import annotations

import pytest

from bench.common import median
from bench.overhead import paired_ratios


def test_a_load_change_between_repeats_does_not_move_the_ratio() -> None:
    # Repeat 1 ran on a busy machine (every step twice as slow on both sides), repeat 2 on an idle one;
    # within each repeat ours is 13 % and 15 % slower than bare. The busy repeat happened to log more
    # of our steps and fewer bare ones, so pooling puts our median among the busy steps and bare's
    # among the idle ones.
    ours = [[2.26] * 9, [1.15] * 3]
    bare = [[2.0] * 3, [1.0] * 9]
    stats = paired_ratios(ours, bare)
    assert stats["ratio_per_repeat"] == pytest.approx([1.13, 1.15])
    assert stats["ratio"] == pytest.approx(1.14)
    assert (stats["ratio_min"], stats["ratio_max"]) == pytest.approx((1.13, 1.15))
    pooled = median([t for run in ours for t in run]) / median([t for run in bare for t in run])
    assert pooled == pytest.approx(2.26)  # what the pooled statistic reported: meaningless


def test_odd_repeats_take_the_middle_pair_and_each_pair_its_own_medians() -> None:
    ours = [[1.0, 1.1, 9.0], [1.3, 1.2, 1.25], [1.0, 1.05, 1.02]]  # one outlier step in repeat 1
    bare = [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    stats = paired_ratios(ours, bare)
    assert stats["ratio_per_repeat"] == pytest.approx([1.1, 1.25, 1.02])
    assert stats["ratio"] == pytest.approx(1.1)
    assert (stats["ratio_min"], stats["ratio_max"]) == pytest.approx((1.02, 1.25))
    with pytest.raises(ValueError):
        paired_ratios(ours, bare[:2])  # every repeat needs its pair
