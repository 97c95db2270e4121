"""python -m devstack.load_catalog: write a catalog file into the catalog table of any stage.

Uses the default boto3 credential chain. Existing items are overwritten, so product inventory and discount
usage counts are reset to the file's values.
"""

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from devstack.resources import DEMO_CATALOG, load_catalog_file

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
    args = parser.parse_args(argv)
    table = args.table or catalog_table_of_stack(boto3.client("cloudformation"), args.stack_name)
    written = load_catalog_file(boto3.client("dynamodb"), table, args.file)
    print(f"wrote {written} items from {args.file} into {table}")


if __name__ == "__main__":
    main()
