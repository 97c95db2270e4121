"""A discount code applied to a cart or an order: what it took off. Apart from the code definitions and from the
order models, so that pricing a cart needs neither."""

from bolt_merchant.models.common import Cents, OwnModel


class AppliedDiscount(OwnModel):
    code: str
    type: str
    amount: Cents
    description: str
