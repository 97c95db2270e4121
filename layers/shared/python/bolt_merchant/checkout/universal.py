"""Every hook, for Bolt's universal Merchant Callback URL. The first, order.create, answers a legacy body that
names no event."""

from bolt_merchant.checkout.cart_update import CART_UPDATE
from bolt_merchant.checkout.discounts import DISCOUNT
from bolt_merchant.checkout.order_create import ORDER_CREATE
from bolt_merchant.checkout.shipping import SHIPPING
from bolt_merchant.checkout.shipping_and_tax import SHIPPING_AND_TAX
from bolt_merchant.checkout.tax import TAX

UNIVERSAL = (ORDER_CREATE, SHIPPING, TAX, SHIPPING_AND_TAX, DISCOUNT, CART_UPDATE)
