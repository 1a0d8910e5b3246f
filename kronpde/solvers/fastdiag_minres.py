"""``"fastdiag-minres"``: MINRES preconditioned by the fast solve's absolute-value inverse.

For a variable ``k`` with ``c < 0`` the operator is symmetric (in the weights)
but indefinite: CG does not apply, MINRES does, with a symmetric positive
definite preconditioner.  The fast solve of the reference operator
``A_0 = k_0 Σ_i T_i + c`` gives one: ``M = S |Λ_0 + c|^{-1} S^{-1}`` (exact in
modulus for a constant ``k``).  ``k_0`` is the reference ``k_ref`` times the
factor in ``[0.8, 1.25]`` that keeps ``min |Λ_0 + c|`` largest, so that the
preconditioner is itself far from resonance.  MINRES's own residual estimate
is not the true residual (a preconditioned norm, and rounding): each round
stops where MINRES says, then the true ``||b - A u|| / ||b||`` is computed and
another round starts from there until it meets the target.
``docs/separable-operators.md``.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np
from scipy.sparse.linalg import LinearOperator, minres

from kronpde.errors import OptionError
from kronpde.problem.protocol import SolvableProblem
from kronpde.solvers.fastdiag import KERNELS, FastDiagSolver
from kronpde.solvers.method import Method
from kronpde.solvers.report import Outcome

__all__ = ["FastDiagMINRES", "absolute_preconditioner"]

#: The factors of ``k_ref`` tried for ``k_0`` (the one with the largest ``min |Λ_0 + c|``).
K0_FACTORS = np.geomspace(0.8, 1.25, 33)

#: At most this many restarts from the last iterate (each checks the true residual).
ROUNDS = 8


def absolute_preconditioner(
    problem: SolvableProblem, workers: int | None = None, kernels: str = "auto"
) -> tuple[FastDiagSolver, float, float]:
    """Return the fast solver of ``|A_0|`` for ``problem``'s shift, ``k_0`` and ``min |Λ_0 + c|``.

    Raises
    ------
    OptionError
        Where the discretisation has no reference Kronecker sum.
    """
    structure = problem.discretisation.reference_structure()
    if structure is None:
        msg = f"fastdiag-minres: the {problem.discretisation.name} has no separable reference"
        raise OptionError(msg)
    solver = FastDiagSolver(
        structure.operators,
        1.0,  # any shift without resonance: the divisor is set below
        axes=problem.grid.axes,
        workers=workers,
        kernels=kernels,
        scheme=structure.combination,
    )
    lam = solver.mode_eigenvalues()  # of k_ref Σ T_i
    c = float(problem.shift)
    field = getattr(problem.data, "shift_field", None)  # a c(x): its weighted mean
    if field is not None:
        w = problem.unknown_weights
        c += float(w @ field[problem.grid.unknown_index].reshape(-1)) / float(w.sum())
    gaps = [float(np.min(np.abs(f * lam + c))) for f in K0_FACTORS]
    best = int(np.argmax(gaps))
    factor = float(K0_FACTORS[best])
    solver.set_divisor(np.abs(factor * lam + c), c)
    return solver, factor * float(structure.coefficient), gaps[best]


class FastDiagMINRES(Method):
    """MINRES on ``Â y = D b`` preconditioned by ``D S |Λ_0 + c|^{-1} S^{-1} D^{-1}``.

    Options ``workers`` and ``kernels`` (of the fast solve).
    """

    name = "fastdiag-minres"
    iterative: ClassVar[bool] = True
    defaults: ClassVar[dict[str, Any]] = {"workers": None, "kernels": "auto"}
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {"kernels": KERNELS}
    auto_reason = ""

    @classmethod
    def refusal(cls, problem: SolvableProblem, options: Any = None) -> str | None:
        """Refuse a non-symmetric scheme, one with no separable reference, a singular problem."""
        if not problem.discretisation.symmetric:
            return (
                f"fastdiag-minres: the {problem.discretisation.name} is not symmetric and "
                "MINRES needs a symmetric operator; use method 'fastdiag' or 'direct'"
            )
        if not problem.discretisation.has_reference_structure:
            return (
                f"fastdiag-minres: the {problem.discretisation.name} has no separable "
                "reference operator to precondition with; use method 'direct'"
            )
        if problem.singular:
            return (
                "fastdiag-minres: the problem is singular (c = 0 and no Dirichlet face); "
                "use method 'fastdiag-cg'"
            )
        return None

    def __init__(self, problem: SolvableProblem, **options: Any):
        reason = self.refusal(problem)
        if reason is not None:
            raise OptionError(reason)
        t0 = time.perf_counter()
        self.problem = problem
        self.options = self.effective_options(options)
        self.check_choice("kernels", self.options["kernels"])
        self.A_hat = problem.linear_operator(symmetric=True)
        self.A = problem.linear_operator()
        self._build()
        self.setup_seconds = time.perf_counter() - t0

    def _build(self) -> None:
        p = self.problem
        solver, self.k0, self.gap = absolute_preconditioner(
            p, self.options["workers"], self.options["kernels"]
        )
        self.backend = solver
        d = p.symmetric_scale
        n = d.size

        def apply(r: np.ndarray) -> np.ndarray:
            return d * solver.solve(np.ravel(r) / d)

        self.M = LinearOperator((n, n), matvec=apply, dtype=np.float64)

    def set_shift(self, problem: SolvableProblem) -> bool:
        """Take another shift: a new ``k_0`` and divisor (the eigenvectors are kept)."""
        self.problem = problem
        self.A_hat = problem.linear_operator(symmetric=True)
        self.A = problem.linear_operator()
        self._build()
        return True

    def solve(
        self,
        b: np.ndarray,
        *,
        out: np.ndarray | None = None,
        x0: np.ndarray | None = None,
        target: float = 1e-8,
        maxiter: int | None = None,
        callback: Any = None,
        monitor: Any = None,
        goal: Any = None,
        check: bool = True,
    ) -> Outcome:
        """Solve ``A u = b`` to ``||b - A u|| / ||b|| <= target`` (the true residual)."""
        p = self.problem
        d = p.symmetric_scale
        b = np.asarray(b, dtype=float).reshape(-1)
        nb = float(np.linalg.norm(b))
        y = np.zeros_like(b) if x0 is None else d * np.asarray(x0, dtype=float).reshape(-1)
        limit = 10 * b.size if maxiter is None else int(maxiter)
        count = [0]

        def step(yk: np.ndarray) -> None:
            count[0] += 1
            if callback is not None:
                callback(yk / d)

        norms: list[float] = []
        rel = math.inf
        tol = target
        for _ in range(ROUNDS):
            if nb == 0.0:
                y[:] = 0.0
                rel = 0.0
                break
            left = limit - count[0]
            if left <= 0:
                break
            y, _ = minres(self.A_hat, d * b, x0=y, rtol=tol, maxiter=left, M=self.M, callback=step)
            u = y / d
            rel = float(np.linalg.norm(b - self.A @ u)) / nb
            norms.append(rel)
            if rel <= target:
                break
            tol = tol * max(0.05, min(0.5, target / rel))
        u = y / d
        if out is not None:
            out[:] = u
            u = out
        converged = rel <= target
        message = (
            f"fastdiag-minres: {count[0]} MINRES iterations in {len(norms)} round(s), true "
            f"relative residual {rel:.3g} (target {target:.3g}); preconditioner k0 = "
            f"{self.k0:.6g}, min |lambda0 + c| = {self.gap:.3g}"
        )
        return Outcome(
            x=u,
            converged=converged,
            iterations=count[0],
            residual_norms=norms,
            relative_residual=rel,
            message=message,
        )

    def describe(self) -> str:
        """How it ran."""
        return (
            f"MINRES preconditioned by the absolute-value fast inverse S|Λ0 + c|^-1 S^-1 "
            f"(k0 = {self.k0:.6g})"
        )
