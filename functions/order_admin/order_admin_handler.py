"""GET /orders/{order_id}; POST /orders/{order_id}/capture, /refund, /cancel; PATCH /orders/{order_id}/line-items.

Back-office operations on Bolt's Transactions API, behind AWS_IAM authorisation.
"""

from bolt_merchant.http.entry import api_function
from bolt_merchant.http.order_admin import order_admin_app

lambda_handler = api_function(order_admin_app())
