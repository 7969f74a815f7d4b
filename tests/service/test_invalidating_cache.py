"""The cache in front of the store: what another process changes is forgotten at the next lookup, and
a value loaded while it changed is never kept."""

from openkms.domain.clock import FixedClock
from openkms.domain.models import Caller, ChangeKind
from openkms.server.runtime import Runtime
from openkms.store.cache import InvalidatingCache

CALLER = Caller("100000000001", "ap-guangzhou")


def test_a_change_committed_before_a_lookup_is_never_served_stale(runtime: Runtime) -> None:
    cache: InvalidatingCache[str] = InvalidatingCache(runtime.feed, ChangeKind.KEY, max_entries=10)
    key_id = runtime.keys.create(CALLER, "cached").key_id
    assert cache.get(key_id, lambda: "first") == "first"
    assert cache.get(key_id, lambda: "second") == "first", "cached"
    runtime.keys.update_description(CALLER, key_id, "changed")  # logs a change of this key
    assert cache.get(key_id, lambda: "third") == "third", "forgotten at the next lookup"


def test_a_value_loaded_while_it_changed_is_returned_but_not_kept(runtime: Runtime) -> None:
    cache: InvalidatingCache[str] = InvalidatingCache(runtime.feed, ChangeKind.KEY, max_entries=10)

    def load_while_it_changes() -> str:
        cache.forget("k")  # a change arrives while the value is being read
        return "stale"

    assert cache.get("k", load_while_it_changes) == "stale"
    assert cache.get("k", lambda: "fresh") == "fresh"


def test_entries_are_bounded_in_number_and_age(runtime: Runtime, clock: FixedClock) -> None:
    cache: InvalidatingCache[str] = InvalidatingCache(
        runtime.feed, ChangeKind.KEY, max_entries=2, max_age=60, now=clock.now
    )
    for ref in ("a", "b", "c"):
        cache.get(ref, lambda ref=ref: ref)
    assert len(cache) == 2 and cache.get("a", lambda: "reloaded") == "reloaded", "the oldest loaded went first"
    clock.advance(61)
    assert cache.get("c", lambda: "expired") == "expired"
