"""Stock and usage shards: the arithmetic, free of AWS (the stores apply it with conditional writes).

One DynamoDB item takes about 1,000 write units a second and a transactional write of a small item costs two, so
one item serves at most ~500 reservations a second, and concurrent transactions on it cancel each other
(TransactionConflict) long before that. A hot product's stock is therefore split across `stock_shards` items and
a hot code's uses across `usage_shards` items (keys: catalog/__init__.py); README, "Hot products and codes", has the
arithmetic for choosing N.

Invariants the stores keep with conditions: no stock shard below zero (a reservation takes from one shard only if
it holds enough); a shard's `reserved` is the units live orders took from it (orders record the shard, releases go
back to it); a code's uses never exceed max_uses (shard i counts at most `allowances(max_uses, N)[i]` uses, and the
allowances add up to max_uses).

`slots` is how many shard items may hold counts: at least the active shards, more after N was lowered (the
retired shards keep the reservations of live orders until those are released, and are read, never reserved from).
"""

from collections.abc import Iterable, Mapping, Sequence

MAX_SHARDS = 32  # a rebalance writes every slot and the item in one transaction (DynamoDB: 100 actions at most)


def spread(total: int, shards: int) -> list[int]:
    """`total` split as evenly as whole units allow, the remainder on the first shards."""
    base, extra = divmod(total, shards)
    return [base + (1 if shard < extra else 0) for shard in range(shards)]


def allowances(limit: int, shards: int) -> list[int]:
    """How many uses each usage shard may count so that all of them together count at most `limit`."""
    return spread(limit, shards)


def probe_order(shards: int, start: int) -> list[int]:
    """The shards a reservation tries, in order: a random start (the caller's), then each next one."""
    return [(start + step) % shards for step in range(shards)]


def take_plan(levels: Mapping[int, int], quantity: int, order: Iterable[int]) -> dict[int, int] | None:
    """Units to take per shard for `quantity`, never more than a shard holds: the first shard in `order` that holds
    everything, else the fullest shards first. None when all of them together hold too few."""
    order = list(order)
    if quantity <= 0:
        return {}
    for shard in order:
        if levels.get(shard, 0) >= quantity:
            return {shard: quantity}
    if sum(max(levels.get(shard, 0), 0) for shard in order) < quantity:
        return None
    plan: dict[int, int] = {}
    left = quantity
    for shard in sorted(order, key=lambda s: (-levels.get(s, 0), s)):
        take = min(left, max(levels.get(shard, 0), 0))
        if take:
            plan[shard] = take
            left -= take
        if not left:
            break
    return plan


def rebalanced(levels: Mapping[int, int], active: int, total: int | None = None) -> dict[int, int]:
    """Every slot's new level: `total` (default: what the slots hold now) spread over the active shards, the
    retired slots emptied into them."""
    amount = sum(levels.values()) if total is None else total
    target = spread(amount, active)
    slots = set(levels) | set(range(active))
    return {shard: target[shard] if shard < active else 0 for shard in sorted(slots)}


def added(levels: Mapping[int, int], units: int, active: int) -> dict[int, int]:
    """Per-shard additions for a restock of `units`: spread over the active shards, the emptiest first."""
    shards = sorted(range(active), key=lambda s: (levels.get(s, 0), s))
    return {shard: share for shard, share in zip(shards, spread(units, active), strict=True) if share}


def returned(origin: Mapping[int, int], units: int) -> dict[int, int]:
    """Which of an order's shards `units` go back to: the highest shard first, never more than it took there."""
    plan: dict[int, int] = {}
    left = units
    for shard in sorted(origin, reverse=True):
        give = min(left, origin[shard])
        if give:
            plan[shard] = give
            left -= give
    if left:
        raise ValueError("more units returned than the order holds")
    return plan


def without(origin: Mapping[int, int], taken: Mapping[int, int]) -> dict[int, int]:
    """What an order still holds per shard once `taken` went back."""
    left = {shard: units - taken.get(shard, 0) for shard, units in origin.items()}
    return {shard: units for shard, units in left.items() if units > 0}


def slots_for(active: int, slots: int) -> Sequence[int]:
    """Every shard that may hold counts: the active ones and the retired ones still holding reservations."""
    return range(max(active, slots, 1))
