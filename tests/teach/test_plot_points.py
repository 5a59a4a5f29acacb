"""lib.teach.plot_points: which of many sorted points a QQ plot draws."""
import numpy as np
import pytest

from lib.teach.plot_points import histogram, qq_rows


def test_few_points_are_all_drawn():
    assert qq_rows(0).tolist() == []
    assert qq_rows(600).tolist() == list(range(600))


def test_many_points_keep_both_tails_whole_and_the_middle_evenly():
    rows = qq_rows(4860, most=600, tail=100)
    assert len(rows) == 600 and np.all(np.diff(rows) > 0)
    assert rows[:100].tolist() == list(range(100)) and rows[-100:].tolist() == list(range(4760, 4860))
    gaps = np.diff(rows[100:-100])
    assert gaps.max() - gaps.min() <= 1  # evenly spaced ranks in between


def test_a_tail_that_fills_the_budget_is_refused():
    with pytest.raises(ValueError):
        qq_rows(1000, most=100, tail=50)


def test_histogram_counts_every_value_once_the_top_edge_in_the_last_bin():
    values = np.array([0.0, 0.01, 0.05, 0.5, 0.99, 1.0])
    bars = histogram(values, 0.0, 1.0, 0.05)
    assert len(bars) == 20 and bars["count"].sum() == len(values)
    assert bars["count"].iloc[0] == 2 and bars["count"].iloc[1] == 1 and bars["count"].iloc[-1] == 2
    assert np.allclose(bars["end"] - bars["start"], 0.05)
