"""Sales tax by region, rounded half up per line (data/demo-catalog.json `tax`)."""

from collections.abc import Sequence
from dataclasses import dataclass

from bolt_merchant.models.cart_line import CartLine
from bolt_merchant.models.catalog import TaxSettings
from bolt_merchant.money import basis_points_of


@dataclass(frozen=True)
class TaxBreakdown:
    line_taxes: list[int]
    shipping_tax: int

    @property
    def items_tax(self) -> int:
        return sum(self.line_taxes)

    @property
    def total(self) -> int:
        return self.items_tax + self.shipping_tax


def region_key(country_code: str, region: str | None, settings: TaxSettings) -> str:
    """'US' + 'California' or 'CA' -> 'US-CA'."""
    name = (region or "").strip()
    code = settings.region_aliases.get(name, name).upper()
    return f"{country_code.upper()}-{code}"


def compute_tax(
    lines: Sequence[CartLine],
    shipping_cost: int,
    region: str,
    settings: TaxSettings,
) -> TaxBreakdown:
    """Tax each taxable line on its price; shipping only where the region taxes it.

    The base is the pre-discount price: Bolt may call order.tax before or after discounts.code.apply, and a tax
    that does not depend on that order is one order.create can always reproduce to the cent.
    """
    rate = settings.rates_basis_points.get(region, settings.default_basis_points)
    line_taxes = [basis_points_of(line.total, rate) if line.taxable else 0 for line in lines]
    shipping_tax = basis_points_of(shipping_cost, rate) if region in settings.shipping_taxable_regions else 0
    return TaxBreakdown(line_taxes=line_taxes, shipping_tax=shipping_tax)
