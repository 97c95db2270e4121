"""Which Bolt event runs which domain call, wired to this container's adapters.

One module per hook or webhook, so that a function imports its own only; the universal function imports them all.
"""
