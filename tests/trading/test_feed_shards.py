"""Several feed processes split the instrument list between them (FEED_SHARD of FEED_SHARDS): each
instrument is carried by exactly one."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.trading.conftest import instrument_make
from trading.feeds.base import feed_instruments
from trading.feeds.configured import feed_from_settings
from tradingsite.exceptions import ValidationError
from tradingsite.processes import ROOT

pytestmark = pytest.mark.django_db


def test_each_instrument_is_carried_by_exactly_one_shard(settings):
    for k in range(7):
        instrument_make(f"SYM{k}", 1000 + k * 257, "100.00")
    settings.FEED_SHARDS = 3
    carried = []
    for shard in range(3):
        settings.FEED_SHARD = shard
        tokens = [i.instrument_token for i in feed_instruments()]
        assert tokens and all(token % 3 == shard for token in tokens)
        carried += tokens
    assert sorted(carried) == sorted(1000 + k * 257 for k in range(7))


def test_a_replay_is_not_split_and_a_shard_out_of_range_stops_start_up(settings):
    settings.FEED, settings.FEED_SHARDS, settings.FEED_REPLAY_PATH = "replay", 2, "/nowhere.csv"
    with pytest.raises(ValidationError, match="FEED_SHARDS must be 1 with FEED=replay"):
        feed_from_settings()

    env = {**os.environ, "FEED_SHARD": "3", "FEED_SHARDS": "3"}
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert check.returncode != 0 and "FEED_SHARD must be from 0 to FEED_SHARDS - 1, not 3 of 3" in check.stderr
    assert ImproperlyConfigured.__name__ in check.stderr
