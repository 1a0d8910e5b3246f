"""``kronpde plot RESULT``: draw one field of a result file."""

from __future__ import annotations

import argparse
from pathlib import Path

from kronpde.app.cli.common import EXIT_OK, UsageError, picture_path

HELP = "draw a field of a result file to a picture"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kronpde plot``."""
    # dest "case": main() names the input file of every command through args.case
    parser.add_argument(
        "case",
        metavar="RESULT",
        help="a result file of kronpde solve (.vti .vtr .vts .pvti .pvtr .pvts .vtu .vtk .xdmf)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PNG",
        help="the picture (.png, .svg or .pdf; relative to the current folder); default "
        "RESULT with the extension .png",
    )
    parser.add_argument(
        "--field", default="u", help="the point- or cell-data field to draw (default u)"
    )
    parser.add_argument(
        "--axis",
        choices=("x", "y", "z"),
        help="cut across this axis: a 3-D field to a plane (default z), a 2-D one to a line",
    )
    parser.add_argument(
        "--at",
        metavar="COORD",
        type=float,
        help="coordinate of the cut along --axis (the nearest node, or cell centre for cell "
        "data; default the middle)",
    )
    parser.add_argument(
        "--dpi", type=int, default=100, help="resolution; the picture is 6.4 x 4.8 inches"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    """Draw the field."""
    from kronpde.app.pictures import save_field_picture
    from kronpde.io.result import read_result

    if args.dpi is not None and not 10 <= args.dpi <= 1000:
        subject = "--dpi"
        msg = f"must be between 10 and 1000, got {args.dpi}"
        raise UsageError(subject, msg)
    output = args.output if args.output is not None else str(Path(args.case).with_suffix(".png"))
    picture = picture_path("-o", output)
    if Path(args.case).suffix.lower() in (".vts", ".pvts"):  # a curvilinear grid: its shape
        return _plot_points(args, picture)
    result = read_result(args.case)
    fields = {**result.cell_fields, **result.fields}  # a point-data field wins a shared name
    if args.field not in fields:
        subject = "--field"
        msg = f"{args.case} has the fields {', '.join(fields) or '(none)'}; got {args.field!r}"
        raise UsageError(subject, msg)
    drawn = save_field_picture(
        picture,
        result.nodes,
        fields[args.field],
        name=args.field,
        axis=args.axis,
        at=args.at,
        title=Path(args.case).name,
        dpi=args.dpi,
    )
    if not args.quiet:
        print(f"picture    {drawn} ({args.field}, {result.dimension}-D, from {args.case})")
    return EXIT_OK


def _plot_points(args: argparse.Namespace, picture: Path) -> int:
    """Draw a field of a ``.vts`` (a curvilinear grid) at its Cartesian points."""
    from kronpde.app.pictures import save_surface_picture
    from kronpde.io.vts import read_pvts, read_vts

    read = read_pvts if Path(args.case).suffix.lower() == ".pvts" else read_vts
    points, point_fields, cell_fields = read(args.case)
    fields = {**cell_fields, **point_fields}
    if args.field not in fields:
        subject = "--field"
        msg = f"{args.case} has the fields {', '.join(fields) or '(none)'}; got {args.field!r}"
        raise UsageError(subject, msg)
    drawn = save_surface_picture(
        picture, points, fields[args.field], name=args.field, title=Path(args.case).name,
        dpi=args.dpi,
    )  # fmt: skip
    if not args.quiet:
        print(f"picture    {drawn} ({args.field}, {points[0].ndim}-D, from {args.case})")
    return EXIT_OK
