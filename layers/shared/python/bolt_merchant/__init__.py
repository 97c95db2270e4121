"""Shared layer of the Bolt checkout merchant backend, cut by feature.

core/       settings, the DynamoDB client, the error table, shared values and money, observability, JSON APIs
bolt/       Bolt's signature and signed endpoints, its secret, its API client, the cart it sends
catalog/    products, discount codes and store settings, and the catalog table
checkout/   one module per hook (its models, rules and route), pricing, carts, the storefront API, their store
orders/     the order and its outbox events, the orders table
payments/   the transaction state machine, transaction and credit-card webhooks, the store they write through
backoffice/ operator operations on Bolt's Transactions API and their IAM-authorised API
fanout/     the outbox publisher and the consumers (confirmation email, fulfilment hand-off)

Rules take their stores and clients as parameters and never touch boto3, os.environ or HTTP themselves; each
factory lives beside the adapter it builds. A handler imports only what its function uses, so that cold starts
load nothing else.
"""
