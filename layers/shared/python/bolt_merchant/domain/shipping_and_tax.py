"""order.shipping_and_tax (Bolt's legacy combined hook): delivery options, each with the cart's whole tax."""

from bolt_merchant.domain.catalog import CatalogReader
from bolt_merchant.domain.order_shipping import delivery_option, quoted
from bolt_merchant.domain.tax import compute_tax, region_key
from bolt_merchant.models.order_shipping import ShippingRequest
from bolt_merchant.models.shipping_and_tax import ShippingAndTaxData, TaxAmountOut


def shipping_and_tax(request: ShippingRequest, catalog: CatalogReader) -> ShippingAndTaxData:
    """Legacy combined hook: delivery options only, each with the cart's total tax if chosen."""
    view, lines, quote = quoted(request.cart, request.shipping_address, catalog)
    address = request.shipping_address
    region = region_key(address.country, address.region, view.settings.tax)
    options = [
        delivery_option(d, tax_amount=compute_tax(lines, d.cost, region, view.settings.tax).total)
        for d in quote.deliveries
    ]
    return ShippingAndTaxData(shipping_options=options, tax_result=TaxAmountOut(amount=0))
