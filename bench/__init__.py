"""roost's benchmark suite: ``make bench`` or ``python -m bench [--quick] [--only NAME,...]``.

One module per benchmark (drain, enqueue, http, depth, pickup, stress, mongo); each
returns table rows that put the roost figure next to the peer (Huey) measured in the same
run. ``bench.noop`` is the plugin that gives the drain benchmarks a no-op task type.
"""
