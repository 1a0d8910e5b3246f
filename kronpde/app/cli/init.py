"""``kronpde init NAME``: write an example case to start from, from the package's own data."""

from __future__ import annotations

import argparse

from kronpde.app.cli.common import EXIT_OK, UsageError

HELP = "write an example case file NAME.toml to start from (--list shows the examples)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde init``."""
    from kronpde.app import examples

    parser.add_argument(
        "case",
        metavar="NAME",
        nargs="?",
        help="the file to write: NAME.toml (default: the example's own name)",
    )
    parser.add_argument(
        "--example",
        metavar="E",
        default=examples.DEFAULT,
        choices=examples.names(),
        help=f"which example (default {examples.DEFAULT}; --list names them all)",
    )
    parser.add_argument("--list", action="store_true", help="list the examples and exit")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")


def run(args: argparse.Namespace) -> int:
    """Write the example (its ``[output] file`` renamed after NAME), or list them."""
    import pathlib

    from kronpde.app import examples

    if args.list:
        for name in examples.names():
            print(f"{name:<24} {examples.describe(name)}")
        return EXIT_OK
    target = pathlib.Path(args.case or args.example)
    if target.suffix != ".toml":
        target = target.with_name(target.name + ".toml")
    args.case = str(target)
    if target.exists() and not args.force:
        raise UsageError(str(target), "exists already; --force overwrites it")
    if not target.parent.is_dir():
        raise UsageError(str(target), f"no folder {target.parent}")
    target.write_text(examples.renamed(args.example, target.stem), encoding="utf-8")
    print(f"wrote {target}: {examples.describe(args.example)}")
    print(f"next: kronpde check {target} && kronpde solve {target}")
    return EXIT_OK
