"""A cart line priced from our catalog: what stored carts and orders are made of, and what prices and taxes are
computed over. Apart from the catalog and order models, so that neither drags the other in."""

from bolt_merchant.models.common import Cents, OwnModel, Quantity, Reference


class CartLine(OwnModel):
    sku: Reference
    name: str
    quantity: Quantity
    unit_price: Cents
    taxable: bool
    needs_shipping: bool

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity
