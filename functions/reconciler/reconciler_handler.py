"""Scheduled reconciliation (and `make reconcile`): orders whose money may differ from Bolt's, checked with Bolt."""

from bolt_merchant.payments.reconcile import reconciler_function

lambda_handler = reconciler_function()
