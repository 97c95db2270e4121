"""GET /orders/{order_id}; POST /orders/{order_id}/capture, /refund, /cancel; PATCH /orders/{order_id}/line-items.

Back-office operations on Bolt's Transactions API, behind AWS_IAM authorisation.
"""

from bolt_merchant.backoffice.api import order_admin_app
from bolt_merchant.core.api import api_function

lambda_handler = api_function(order_admin_app())
