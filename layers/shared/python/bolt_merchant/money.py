"""Integer-cent arithmetic. Money never touches a float."""

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
