"""The methods of a complex problem (:class:`~kronpde.problem.complex_problem.ComplexProblem`).

``fastdiag``: the real transforms applied to the real and imaginary parts, the
spectra divided (complex division) by ``Λ + c``; ``direct``: complex sparse LU;
``fastdiag-cg``: on a complex problem, GMRES (a complex operator is not
SPD: CG cannot run) preconditioned by the complex fast inverse of the
constant-``k_0`` reference ``S (Λ_0 + c)^{-1} S^{-1}`` (a variable ``k``),
stopped on the true residual.  ``cg``, ``amg-cg`` and ``fastdiag-minres``
need a real symmetric operator and refuse, naming these three.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse.linalg as spla

from kronpde.errors import OptionError, SolverError
from kronpde.solvers.fastdiag import FastDiag, FastDiagSolver

__all__ = ["COMPLEX_METHODS", "ComplexFastInverse", "ComplexSolution", "PreparedComplex"]

#: The methods that solve a complex problem.
COMPLEX_METHODS = ("fastdiag", "direct", "fastdiag-cg")

#: Below this relative gap ``min |λ + c| / max |λ + c|`` the operator is singular.
SINGULAR_GAP = 1e-13
#: Below this relative gap the solve warns with the condition number.
WARN_GAP = 1e-8


class ComplexFastInverse:
    """``S (Λ + c)^{-1} S^{-1}`` for a complex ``c``: real transforms of both parts.

    Parameters
    ----------
    structure : EigenStructure
        The Kronecker sum's operators (``eigen_structure()`` or ``reference_structure()``).
    axes : sequence of Axis
        The grid's axes (closed forms).
    shift : complex
    """

    def __init__(self, structure: Any, axes: Any, shift: complex):
        self.solver = FastDiagSolver(
            structure.operators, 1.0, axes=axes, scheme=structure.combination
        )
        self.lam = self.solver.mode_eigenvalues()
        self.shape = self.solver.shape
        self.set_shift(shift)

    def set_shift(self, shift: complex) -> None:
        """Divide by ``Λ + shift`` from now on (raises :class:`SolverError` at an eigenvalue)."""
        c = complex(shift)
        denominator = self.lam + c
        gap = np.abs(denominator)
        scale = float(np.max(gap))
        smallest = float(np.min(gap))
        self.condition = scale / smallest if smallest > 0 else math.inf
        self.warning = None
        if smallest <= SINGULAR_GAP * scale:
            msg = (
                f"fastdiag: the operator is singular at the shift {c:g} (min |lambda + c| = "
                f"{smallest:.3g}): c is an eigenvalue of the discrete operator"
            )
            raise SolverError(msg)
        if smallest <= WARN_GAP * scale:
            self.warning = (
                f"the shift {c:g} is close to an eigenvalue of the discrete operator: "
                f"condition number {self.condition:.3g}"
            )
        inv = 1.0 / (denominator * self.solver._transforms.roundtrip)
        self.shift = c
        self._p = np.ascontiguousarray(inv.real)
        self._q = np.ascontiguousarray(inv.imag)

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Return ``(A + c I)^{-1} b`` for a complex ``b`` of :attr:`shape` or flat."""
        b = np.asarray(b)
        src_r = np.ascontiguousarray(b.real, dtype=float).reshape(self.shape)
        src_i = np.ascontiguousarray(b.imag, dtype=float).reshape(self.shape)
        transforms = self.solver._transforms
        saved: dict[str, np.ndarray] = {}

        def keep(spectrum: np.ndarray, _src: np.ndarray) -> None:
            saved["i"] = spectrum.copy()

        def divide(spectrum: np.ndarray, _src: np.ndarray) -> None:
            xr, xi = spectrum.copy(), saved["i"]
            spectrum[...] = self._p * xr - self._q * xi
            saved["i"] = self._q * xr + self._p * xi

        def put(spectrum: np.ndarray, _src: np.ndarray) -> None:
            spectrum[...] = saved["i"]

        transforms.apply(src_i, None, keep)
        re = np.array(transforms.apply(src_r, None, divide))
        im = np.array(transforms.apply(src_i, None, put))
        return (re + 1j * im).reshape(b.shape)


@dataclass
class ComplexSolution:
    """A complex problem's solution: the field ``u`` (complex) and the unknowns ``x``.

    ``report`` holds ``method``, ``converged``, ``iterations``,
    ``relative_residual``, ``setup_seconds``, ``solve_seconds``, ``warnings``.
    """

    u: np.ndarray
    x: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def u_real(self) -> np.ndarray:
        """The real part of the field (the output's ``u``)."""
        return self.u.real

    @property
    def u_imag(self) -> np.ndarray:
        """The imaginary part of the field (the output's ``u_imag``)."""
        return self.u.imag

    @property
    def u_abs(self) -> np.ndarray:
        """The modulus of the field (the output's ``u_abs``)."""
        return np.abs(self.u)

    def error_max(self, exact: np.ndarray) -> float:
        """Return the largest modulus ``|u - u_exact|`` over the points (NaN points skipped)."""
        return float(np.nanmax(np.abs(self.u - exact)))


def refusal(problem: Any, method: str) -> str | None:
    """Say why ``method`` cannot solve the complex ``problem`` (None if it can)."""
    works = ", ".join(COMPLEX_METHODS)
    if method not in COMPLEX_METHODS:
        return (
            f"{method}: the problem is complex (a complex shift, source or boundary value); "
            f"{method} needs a real symmetric positive definite operator: use one of {works}"
        )
    if method == "fastdiag" and getattr(problem, "shift_field", None) is not None:
        return (
            "fastdiag: the complex shift varies in space, so the operator is not a Kronecker "
            "sum here: use direct or fastdiag-cg"
        )
    if method == "fastdiag":
        why = FastDiag.refusal(problem.real)
        if why is not None:
            return f"{why}; a complex problem with this operator: use direct or fastdiag-cg"
    if method == "fastdiag-cg" and problem.real.discretisation.reference_structure() is None:
        return "fastdiag-cg: the operator has no separable reference: use direct"
    return None


#: Why ``"auto"`` runs what it runs on a complex problem.
COMPLEX_AUTO_REASON = (
    "auto: the problem is complex; the first of fastdiag, direct, fastdiag-cg (GMRES "
    "preconditioned by the complex fast inverse) that accepts it"
)


def auto_method(problem: Any) -> str:
    """Return the method ``"auto"`` runs on a complex problem."""
    return next(m for m in COMPLEX_METHODS if refusal(problem, m) is None)


class PreparedComplex:
    """A complex problem's method, set up once: :meth:`solve`, :meth:`set_shift`.

    Parameters
    ----------
    problem : ComplexProblem
    method : {"auto", "fastdiag", "direct", "fastdiag-cg"}
        ``auto``: ``fastdiag`` where the operator is a Kronecker sum, else
        ``fastdiag-cg``, else ``direct``.
    """

    def __init__(self, problem: Any, method: str = "auto"):
        if method == "auto":
            method = auto_method(problem)
        why = refusal(problem, method)
        if why is not None:
            raise OptionError(why)
        self.problem, self.method = problem, method
        start = time.perf_counter()
        self._build()
        self.setup_seconds = time.perf_counter() - start

    def _build(self) -> None:
        p = self.problem
        if self.method == "direct":
            self._lu = spla.splu(p.operator().tocsc())
            return
        disc = p.real.discretisation
        structure = (
            disc.eigen_structure() if self.method == "fastdiag" else disc.reference_structure()
        )
        self._fast = ComplexFastInverse(structure, p.grid.axes, p.shift)
        if self.method == "fastdiag-cg":
            self._matrix = p.operator()

    def set_shift(self, shift: object) -> bool:
        """Change ``c`` (any real or complex constant), reusing the transforms (fastdiag, GMRES).

        ``direct`` factors the new matrix.  Returns True.
        """
        self.problem = self.problem.with_shift(shift)
        if self.method == "direct":
            self._build()
        else:
            self._fast.set_shift(self.problem.shift)
            if self.method == "fastdiag-cg":
                self._matrix = self.problem.operator()
        return True

    def solve(
        self,
        b: np.ndarray | None = None,
        *,
        rtol: float | str = 1e-10,
        maxiter: int | None = None,
        **_: Any,
    ) -> ComplexSolution:
        """Solve ``(A + c M) x = b`` (``b`` the problem's right-hand side by default).

        ``rtol`` is GMRES' relative residual target (``"auto"``: 1e-10); other
        keywords of :meth:`PreparedSolver.solve` are accepted and not used.
        """
        rtol = 1e-10 if isinstance(rtol, str) else float(rtol)
        p = self.problem
        b = p.rhs() if b is None else np.asarray(b, dtype=complex).reshape(-1)
        start = time.perf_counter()
        iterations, converged, warnings = 0, True, []
        if self.method == "direct":
            x = self._lu.solve(b)
        elif self.method == "fastdiag":
            x = self._fast.solve(b).reshape(-1)
        else:
            x, iterations, converged = self._gmres(b, rtol, maxiter)
        if self.method != "direct" and self._fast.warning:
            warnings.append(self._fast.warning)
        seconds = time.perf_counter() - start
        residual = p.relative_residual(x, b)
        report = {
            "method": self.method,
            "converged": bool(converged and np.all(np.isfinite(x))),
            "iterations": iterations,
            "relative_residual": residual,
            "setup_seconds": self.setup_seconds,
            "solve_seconds": seconds,
            "warnings": warnings,
            "algebraic_error_bound": None,  # no certified bound for a complex operator
        }
        return ComplexSolution(p.to_nodes(x), x, report)

    def _gmres(self, b: np.ndarray, rtol: float, maxiter: int | None) -> tuple[Any, int, bool]:
        n = b.size
        pc = spla.LinearOperator((n, n), matvec=lambda v: self._fast.solve(v), dtype=complex)
        count = [0]

        def tick(_: Any) -> None:
            count[0] += 1

        x, info = spla.gmres(
            self._matrix,
            b,
            rtol=rtol,
            atol=0.0,
            restart=min(n, 50),
            maxiter=maxiter or 200,
            M=pc,
            callback=tick,
            callback_type="pr_norm",
        )
        # stop on the true residual, not GMRES' preconditioned estimate
        true = np.linalg.norm(b - self._matrix @ x) / max(np.linalg.norm(b), 1e-300)
        return x, count[0], bool(info == 0 and true <= 10 * rtol)


def prepare_complex(
    problem: Any, method: str = "auto", *, backend: str = "serial", comm: Any = None
) -> PreparedComplex:
    """Set up ``method`` for a complex problem (see :class:`PreparedComplex`).

    Raises
    ------
    OptionError
        For the PETSc backend or several ranks: the installed petsc4py is
        built for real scalars, so a complex problem is solved serially.
    """
    if backend != "serial" or (comm is not None and comm.Get_size() > 1):
        msg = (
            f"backend {backend!r}: the problem is complex and kronpde's PETSc backend and "
            "distributed solves are real (petsc4py built with real scalars); "
            f"solve it serially with one of {', '.join(COMPLEX_METHODS)}"
        )
        raise OptionError(msg)
    return PreparedComplex(problem, method)


def solve_complex(problem: Any, method: str = "auto", **kw: Any) -> ComplexSolution:
    """Solve a complex problem: ``prepare_complex(problem, method).solve(**kw)``."""
    return PreparedComplex(problem, method).solve(**kw)
