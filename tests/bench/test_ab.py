"""bench/ab.py's summary of an interleaved A/B: pairs, ratios, order (no servers)."""

from __future__ import annotations

import pytest

from bench.ab import busiest_others, slice_order, summarize


def test_pairs_slice_i_of_each_side_and_their_ratios():
    summary = summarize([50.0, 40.0, 60.0], [45.0, 44.0, 51.0], first=["old", "new", "old"])

    assert [(p["slice"], p["old"], p["new"], p["ratio"], p["first"])
            for p in summary["pairs"]] == [
        (1, 50.0, 45.0, 0.9, "old"),
        (2, 40.0, 44.0, 1.1, "new"),
        (3, 60.0, 51.0, 0.85, "old"),
    ]
    assert summary["new_ahead"] == 1
    assert summary["pair_count"] == 3
    assert summary["ratio_median_of_pairs"] == 0.9
    assert summary["ratio_range"] == [0.85, 1.1]


def test_means_medians_and_the_overall_ratio():
    summary = summarize([50.0, 40.0, 60.0, 70.0], [45.0, 44.0, 51.0, 60.0])

    assert summary["old"] == {"flows_per_s": [50.0, 40.0, 60.0, 70.0], "mean": 55.0,
                              "median": 55.0, "min": 40.0, "max": 70.0}
    assert summary["new"]["mean"] == 50.0
    assert summary["new"]["median"] == 48.0
    # The overall ratio is of the means, not the mean of the pairs' ratios.
    assert summary["ratio"] == round(50.0 / 55.0, 4)
    assert summary["ratio_of_medians"] == round(48.0 / 55.0, 4)
    assert "first" not in summary["pairs"][0]


@pytest.mark.parametrize(("old", "new", "meets"), [
    ([100.0, 100.0], [85.0, 85.0], True),   # exactly the threshold
    ([100.0, 100.0], [84.0, 85.0], False),
    ([100.0, 100.0], [120.0, 90.0], True),
])
def test_threshold(old, new, meets):
    summary = summarize(old, new, threshold=0.85)
    assert summary["threshold"] == 0.85
    assert summary["meets_threshold"] is meets


def test_a_side_with_no_flows_gives_no_ratio():
    summary = summarize([0.0, 10.0], [5.0, 0.0])

    assert [p["ratio"] for p in summary["pairs"]] == [None, 0.0]
    assert summary["new_ahead"] == 0
    assert summary["ratio"] == round(2.5 / 5.0, 4)


def test_unequal_slices_are_refused():
    with pytest.raises(ValueError):
        summarize([1.0, 2.0], [1.0])


def test_the_order_swaps_every_other_slice():
    assert [slice_order(i) for i in range(4)] == [
        ("old", "new"), ("new", "old"), ("old", "new"), ("new", "old")]


def test_busiest_others_leaves_out_the_measured_processes():
    before = {1: ("gunicorn", 0, 1.0), 2: ("gunicorn", 1, 5.0), 3: ("postgres", 0, 2.0),
              4: ("python", 0, 10.0), 5: ("redis-server", 0, 0.0)}
    after = {1: ("gunicorn", 0, 1.5), 2: ("gunicorn", 1, 9.0), 3: ("postgres", 0, 4.0),
             4: ("python", 0, 12.0), 5: ("redis-server", 0, 0.5), 6: ("make", 0, 0.2)}

    assert busiest_others(before, after, 4.0, exclude={1}) == [
        {"pid": 4, "comm": "python", "cores": 0.5},
        {"pid": 5, "comm": "redis-server", "cores": 0.12},
        {"pid": 6, "comm": "make", "cores": 0.05},
    ]
