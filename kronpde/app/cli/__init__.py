"""The ``kronpde`` command: one module per subcommand (meshio's layout).

``kronpde solve CASE.toml`` reads the case (:func:`kronpde.io.case.load_case`),
checks that the result can be written, solves, prints a summary and writes the
result file; ``kronpde check CASE.toml`` does everything but solve and write;
``converge``, ``compare`` and ``plot`` run :mod:`kronpde.app.studies` and draw with
:mod:`kronpde.app.pictures`.  The exit codes, the JSON keys and the output file
are fixed by ``case-format.md``.

Each subcommand module has ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``, and imports what it needs inside ``run``; only the
arguments of the subcommand on the command line are built, so ``kronpde
--help`` answers without importing the solvers.  :func:`main` returns the exit
code instead of exiting, so tests call it in-process.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType
from typing import NoReturn

from kronpde.app.cli.common import (
    EXIT_INTERNAL,
    EXIT_INVALID,
    EXIT_NOT_CONVERGED,
    EXIT_OK,
    UsageError,
)
from kronpde.errors import CaseError, KronpdeError, OptionError, SolverError

__all__ = ["EXIT_INTERNAL", "EXIT_INVALID", "EXIT_NOT_CONVERGED", "EXIT_OK", "main", "run"]

#: The subcommands, in the order ``--help`` lists them, and their modules.
COMMANDS = {
    "solve": "kronpde.app.cli.solve",
    "check": "kronpde.app.cli.check",
    "converge": "kronpde.app.cli.converge",
    "compare": "kronpde.app.cli.compare",
    "plot": "kronpde.app.cli.plot",
    "init": "kronpde.app.cli.init",
}

_EPILOG = """\
examples (in an empty folder; `kronpde init --list` names the example cases):
  kronpde init mycase
  kronpde check mycase.toml
  kronpde solve mycase.toml
  kronpde solve mycase.toml --method amg-cg --rtol 1e-10 -o u.vtu --json
  kronpde converge mycase.toml --levels 3 --plot conv.png
  kronpde compare mycase.toml --plot residuals.png
  kronpde plot mycase.vti -o slice.png --field u
  kronpde init box3d --example poisson3d_mixed
  kronpde solve box3d.toml --plot slice3d.png

exit codes:
  0  solved (and the result written)
  1  the solver did not reach its tolerance (nothing written)
  2  invalid input: missing or unreadable file, bad TOML, unknown key, wrong
     type, bad expression, impossible grid or boundary set-up, a method that
     cannot solve the case, output that cannot be written (nothing written;
     an existing output file is kept)
  3  an internal error: a bug in kronpde, please report it (set KRONPDE_DEBUG=1
     to see the traceback)
"""


class _Parser(argparse.ArgumentParser):
    """argparse's parser whose usage errors suggest the option or command that was meant.

    (Python 3.14's ``suggest_on_error`` does this for choices only, and not before 3.14.)

    Attributes
    ----------
    options : tuple of str
        The options of the subcommand on the command line (set by :func:`build_parser`).
    """

    options: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        """Print the usage and ``message`` (with a suggestion, if one is close), exit 2."""
        super().error(message + _hint(message, self.options))


def _hint(message: str, options: tuple[str, ...]) -> str:
    """Return ``"; did you mean --method?"`` for a misspelt option or command, else ``""``."""
    from kronpde.io.case_values import suggest

    hints = []
    if message.startswith("unrecognized arguments: "):
        for word in message.split(": ", 1)[1].split():
            if word.startswith("--") and options:
                hints.append(suggest(word.split("=", 1)[0], options, quote=False))
    elif "invalid choice: " in message and "argument COMMAND" in message:
        word = message.split("invalid choice: ", 1)[1].split(" ", 1)[0].strip("'\"")
        hints.append(suggest(word, tuple(COMMANDS), quote=False))
    hints = [h.strip() for h in hints if h]
    return "; " + "; ".join(hints) if hints else ""


def _module(name: str) -> ModuleType:
    return importlib.import_module(COMMANDS[name])


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the ``kronpde`` parser; only ``command``'s arguments are built (None: none)."""
    from kronpde._version import __version__

    parser = _Parser(
        prog="kronpde",
        description="Solve -div(k grad u) + c u = f on a box (1-3 D) from a TOML case file, "
        "through the Kronecker structure of the discrete operator.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kronpde {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = _module(name)
        summary = module.HELP
        p = sub.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == command:  # only its arguments: building the others would import more
            module.add_arguments(p)
            p.set_defaults(handler=module.run)
            options = tuple(o for a in p._actions for o in a.option_strings if o.startswith("--"))
            parser.options = p.options = options
    return parser


def _command(argv: list[str]) -> str | None:
    """Return the subcommand named on the command line (the first word that is one), if any."""
    return next((word for word in argv if word in COMMANDS), None)


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


def _rank() -> int:
    from kronpde.app.cli.backend import launcher_rank

    return launcher_rank()


def _error(message: str) -> None:
    if _rank() == 0:  # under mpirun every rank meets the same bad input: say it once
        print(f"kronpde: error: {_one_line(message)}", file=sys.stderr)


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parser.parse_args``; on MPI ranks other than 0 its messages are not printed."""
    if _rank() == 0:
        return parser.parse_args(argv)
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return parser.parse_args(argv)


#: The exit code when standard output is closed early: a shell's for a process that SIGPIPE
#: ended (128 + 13), so that `kronpde ... | head` reads as it does for other commands.
EXIT_BROKEN_PIPE = 141


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's final flush is quiet.

    (The recipe of Python's documentation for SIGPIPE: the data not yet written
    have no reader any more.)
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (stdout replaced): nothing to flush
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the ``kronpde`` command and return its exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 solved (or valid, for ``check``); 1 not converged; 2 invalid input;
        3 an internal error (a bug); 141 standard output closed by its reader
        (what was written to files is complete).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at the interpreter's exit, so that a closed pipe shows
        return code
    except BrokenPipeError:  # the reader of standard output left (`kronpde ... | head`)
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def run() -> NoReturn:
    """Run the ``kronpde`` command as a process: :func:`main`, then exit with its code.

    A serial run has nothing left to do once :func:`main` returned: its files
    are written, closed and renamed, and standard output and error are
    flushed here.  It leaves by ``os._exit``, without the interpreter's
    teardown of the several hundred modules a solve imports (30-50 ms of
    every command).  A run that imported MPI or PETSc exits normally: their
    exit hooks finalise.
    """
    code = main()
    if "mpi4py" in sys.modules or "petsc4py" in sys.modules:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed reader: main said so in its code already
            pass
    os._exit(code)


def _compile_notice(args: argparse.Namespace) -> None:
    """Say on standard error when numba kernels compile (not with ``--quiet``, nor on ranks > 0)."""
    from kronpde.operators.kernels import set_compile_notice

    def notice(sentence: str) -> None:
        print(f"kronpde: {sentence}", file=sys.stderr, flush=True)

    quiet = getattr(args, "quiet", False) or _rank() != 0
    set_compile_notice(None if quiet else notice)


def _end_compile_notice() -> None:
    from kronpde.operators.kernels import set_compile_notice

    set_compile_notice(None)


def _main(argv: list[str]) -> int:
    parser = build_parser(_command(argv))
    try:
        args = _parse(parser, argv)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed it)
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_INVALID)
    _compile_notice(args)
    try:
        return args.handler(args)
    except UsageError as exc:
        _error(str(exc))
    except MemoryError:
        _error(f"{args.case}: [grid] cells: not enough memory for a grid this large")
    except (SolverError, OptionError) as exc:  # the method cannot run here, or its options
        key = "--method" if getattr(args, "method", None) else f"{args.case}: [solver] method"
        if getattr(args, "backend", "serial") == "petsc":
            key = f"{args.case}: --backend petsc"
        _error(f"{key}: {exc}")
    except KronpdeError as exc:  # CaseError, OutputError, GridError, ...
        message = str(exc)
        if not isinstance(exc, CaseError):
            message = f"{args.case}: {message}"
        _error(message)
    except KeyboardInterrupt:
        print("kronpde: interrupted; nothing written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of standard output left (`kronpde ... | head`)
        raise
    except Exception as exc:  # one line instead of a traceback
        if os.environ.get("KRONPDE_DEBUG"):
            raise
        print(
            f"kronpde: internal error (a bug in kronpde, please report it; KRONPDE_DEBUG=1 "
            f"shows the traceback): {type(exc).__name__}: {_one_line(str(exc))}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    finally:
        _end_compile_notice()  # a caller running main in-process gets its silence back
    return EXIT_INVALID
