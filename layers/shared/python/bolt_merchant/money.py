"""Integer-cent arithmetic. Money never touches a float."""

from collections.abc import Sequence

MAX_CENTS = 10**11  # one billion dollars: anything above is a data error, not an order


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, exactly, for non-negative values."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        raise ValueError("numerator must be non-negative")
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if remainder * 2 >= denominator else 0)


def basis_points_of(amount: int, basis_points: int) -> int:
    """amount x basis_points / 10000, rounded half up (how per-line tax and percentage discounts round)."""
    return round_half_up_div(amount * basis_points, 10_000)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split total cents across weights proportionally; the parts always add up to total.

    Largest-remainder method: floor shares first, then the leftover cents go to the largest remainders
    (earliest index wins ties), so the split is deterministic.
    """
    weight_sum = sum(weights)
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate takes non-negative amounts")
    if weight_sum == 0:
        return [0 for _ in weights]
    shares = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    leftover = total - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:leftover]:
        shares[index] += 1
    return shares
