"""The guardrails' dedupe: behaviour (repeats dropped within the window, forgotten after it, size cap, running ids
kept) and its cost, counted as entries looked at rather than timed: a get/set must not walk every remembered id."""
from __future__ import annotations

from collections import OrderedDict

from agentnet.guardrails import Outcome, _Dedupe

DONE = Outcome(True)


class CountingDict(OrderedDict):
    """Counts the entries any iteration over it yields (keys, values, items, or the dict itself)."""

    looked_at = 0

    def _count(self, it):
        for x in it:
            CountingDict.looked_at += 1
            yield x

    def __iter__(self):
        return self._count(super().__iter__())

    def items(self):
        return self._count(super().items())

    def keys(self):
        return self._count(super().keys())

    def values(self):
        return self._count(super().values())


def clock():
    t = [0.0]
    return t, lambda: t[0]


def test_repeats_within_the_window_are_known_and_forgotten_after_it():
    t, now = clock()
    d = _Dedupe(600, now)
    d.set("a", DONE)
    t[0] = 599
    assert d.get("a") == (True, DONE)
    d.set("b", None)
    t[0] = 601
    assert d.get("a") == (False, None)
    assert d.get("b") == (True, None)


def test_a_running_id_is_kept_past_the_window_without_blocking_pruning_behind_it():
    t, now = clock()
    d = _Dedupe(10, now)
    d.set("running", None)
    for i in range(100):
        d.set(f"done{i}", DONE)
    t[0] = 11
    assert d.get("running") == (True, None)
    assert len(d) == 1


def test_the_size_cap_forgets_the_oldest_first():
    _, now = clock()
    d = _Dedupe(600, now, max_entries=3)
    for key in "abcde":
        d.set(key, DONE)
    assert len(d) == 3
    assert [d.get(k)[0] for k in "abcde"] == [False, False, True, True, True]


def test_a_get_or_set_looks_at_a_bounded_number_of_entries_however_many_are_remembered():
    t, now = clock()
    d = _Dedupe(600, now)
    d.entries = CountingDict()
    for i in range(20_000):
        t[0] = i * 0.01
        d.set(f"m{i}", DONE)
    CountingDict.looked_at = 0
    for i in range(1_000):  # the window still holds all 20,000: nothing to prune, nothing to walk
        t[0] = 200 + i * 0.01
        d.get(f"new{i}")
        d.set(f"new{i}", DONE)
    assert CountingDict.looked_at <= 2 * 2_000  # the old prune copied all 20,000 entries on each of these calls
    CountingDict.looked_at = 0
    before = len(d)
    t[0] = 805  # the 20,000 old ids and half the new ones expire: removing each once is the only work
    d.get("x")
    assert len(d) == 499 or len(d) == 500
    assert CountingDict.looked_at <= (before - len(d)) + 1
