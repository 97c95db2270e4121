"""Every hook, for Bolt's universal Merchant Callback URL. The first, order.create, answers a legacy body that names
no event."""

from bolt_merchant.hooks.cart_update import CART_UPDATE
from bolt_merchant.hooks.discount_code import DISCOUNT
from bolt_merchant.hooks.order_create import ORDER_CREATE
from bolt_merchant.hooks.order_shipping import SHIPPING
from bolt_merchant.hooks.order_tax import TAX
from bolt_merchant.hooks.shipping_and_tax import SHIPPING_AND_TAX

UNIVERSAL = (ORDER_CREATE, SHIPPING, TAX, SHIPPING_AND_TAX, DISCOUNT, CART_UPDATE)
