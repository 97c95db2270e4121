"""Integer-cent arithmetic: half-up rounding and allocations that never lose or invent a cent."""

import math
from fractions import Fraction

import pytest
from bolt_merchant.core.models import basis_points_of, round_half_up_div
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 7, 0),
        (4, 10, 0),
        (5, 10, 1),  # exactly half rounds up
        (6, 10, 1),
        (15, 10, 2),
        (25, 10, 3),  # not banker's rounding (which would give 2)
        (1, 3, 0),
        (2, 3, 1),
        (10, 1, 10),
        (1, 2, 1),
        (10**30 + 5, 10, 10**29 + 1),  # exact for numbers no float could hold
    ],
)
def test_round_half_up_div(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up_div(numerator, denominator) == expected


@given(numerator=st.integers(min_value=0, max_value=10**24), denominator=st.integers(min_value=1, max_value=10**8))
def test_round_half_up_div_matches_exact_rational_rounding(numerator: int, denominator: int) -> None:
    assert round_half_up_div(numerator, denominator) == math.floor(Fraction(numerator, denominator) + Fraction(1, 2))


@pytest.mark.parametrize(("numerator", "denominator"), [(1, 0), (1, -1), (-1, 2)])
def test_round_half_up_div_refuses_what_it_was_not_written_for(numerator: int, denominator: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        round_half_up_div(numerator, denominator)


@pytest.mark.parametrize(
    ("amount", "basis_points", "expected"),
    [
        (4800, 725, 348),  # 348.0
        (1000, 725, 73),  # 72.5 -> 73
        (100, 725, 7),  # 7.25 -> 7
        (200, 725, 15),  # 14.5 -> 15
        (599, 400, 24),  # 23.96 -> 24
        (12345, 0, 0),
        (12345, 10_000, 12345),
        (0, 725, 0),
    ],
)
def test_basis_points_of(amount: int, basis_points: int, expected: int) -> None:
    assert basis_points_of(amount, basis_points) == expected


@given(amount=st.integers(0, 10**11), basis_points=st.integers(0, 10_000))
def test_basis_points_of_is_the_half_up_rounded_exact_product(amount: int, basis_points: int) -> None:
    exact = Fraction(amount * basis_points, 10_000)

    result = basis_points_of(amount, basis_points)

    assert result == math.floor(exact + Fraction(1, 2))
    assert abs(result - exact) <= Fraction(1, 2)
