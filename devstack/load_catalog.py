"""python -m devstack.load_catalog: sync a catalog file into the catalog table of any stage.

Uses the default boto3 credential chain. Definitions (settings, products, prices, discounts) are upserted through
the catalog API's rules, each change audited under your IAM ARN; stock levels and discount uses are never touched
(a new product gets the file's stock), unless --set-stock sets every product's level to the file's. --dry-run
prints the diff and changes nothing. Products and codes the file does not name are left as they are.
"""

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from devstack.catalog import parse_catalog_file, sync_catalog
from devstack.resources import DEMO_CATALOG

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

CATALOG_TABLE_OUTPUT = "CatalogTableName"


def catalog_table_of_stack(cloudformation: "CloudFormationClient", stack_name: str) -> str:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    for output in stack.get("Outputs", []):
        if output.get("OutputKey") == CATALOG_TABLE_OUTPUT:
            return output["OutputValue"]
    raise SystemExit(f"stack {stack_name} has no {CATALOG_TABLE_OUTPUT} output")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.load_catalog", description=__doc__)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--table", help="catalog table name")
    target.add_argument("--stack-name", help=f"read the table name from the stack's {CATALOG_TABLE_OUTPUT} output")
    parser.add_argument("--file", type=Path, default=DEMO_CATALOG, help="catalog JSON (default: the demo catalog)")
    parser.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    parser.add_argument("--set-stock", action="store_true", help="also set every product's stock to the file's")
    args = parser.parse_args(argv)
    table = args.table or catalog_table_of_stack(boto3.client("cloudformation"), args.stack_name)
    document = parse_catalog_file(args.file.read_text(encoding="utf-8"))
    operator = boto3.client("sts").get_caller_identity()["Arn"]
    diff = sync_catalog(
        boto3.client("dynamodb"), table, document, operator=operator, set_stock=args.set_stock, dry_run=args.dry_run
    )
    for line in diff:
        print(line)
    verb = "would change" if args.dry_run else "changed"
    print(
        f"{verb} {len(diff)} item(s) of {table} from {args.file}"
        + (" (stock left as it is)" if not args.set_stock else "")
    )


if __name__ == "__main__":
    main()
