"""GET/PUT /catalog/products/{sku}; POST /catalog/products/{sku}/stock; GET/PUT /catalog/discounts/{code};
GET/PUT /catalog/settings.

Operator catalog changes behind AWS_IAM authorisation, each audited with the caller's IAM ARN.
"""

from bolt_merchant.catalog.api import catalog_admin_app
from bolt_merchant.core.api import api_function

lambda_handler = api_function(catalog_admin_app())
