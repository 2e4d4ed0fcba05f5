"""The quality goal: personalization must hit four times as often as popularity on held-out
interactions.

The protocol (see emulator/evaluation.py): 1,000 users of the sample chosen with seed 2018; each
loses their last interaction with an item new to them (and everything after it); the model trains on
the rest; a hit is the lost item among the top 25, the user's past items left out of both.
"""

from __future__ import annotations

import pytest

from emulator.dataset import Dataset
from emulator.evaluation import hit_rates


@pytest.mark.slow
def test_recommend_hits_at_least_four_times_as_often_as_popularity(sample_dataset: Dataset) -> None:
    rates = hit_rates(sample_dataset, users=1_000, k=25, seed=2018)

    assert rates.users == 1_000
    assert rates.ratio >= 4.0, rates
