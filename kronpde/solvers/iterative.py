"""The CG-based methods: one class for the stopping rule, one subclass per preconditioner.

:class:`ConjugateGradient` runs :func:`kronpde.solvers.cg.cg` on the
symmetrised system ``Â y = D b`` with the rounds of
:func:`kronpde.solvers.result.continue_rounds` (the stopping rule refers to the
unsymmetrised residual; see :mod:`kronpde.solvers.result`).  Its subclasses
only choose ``M``:

* :class:`JacobiCG` (``"cg"``): Jacobi where the diagonal of ``Â`` is not
  constant, else none;
* ``AMGCG`` (``"amg-cg"``, in :mod:`kronpde.solvers.amg`): one multigrid cycle;
* ``FastDiagCG`` (``"fastdiag-cg"``, in :mod:`kronpde.solvers.fastdiag_pc`): the
  fast-diagonalization solve of a constant-coefficient operator.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.sparse.linalg import LinearOperator

from kronpde.errors import OptionError
from kronpde.solvers.cg import cg
from kronpde.solvers.method import Method
from kronpde.solvers.result import (
    Outcome,
    Round,
    continue_rounds,
    goal_outcome,
    goal_rounds,
    rounds_outcome,
)

__all__ = ["ConjugateGradient", "Jacobi", "JacobiCG"]


class Jacobi(LinearOperator):
    """Diagonal preconditioner ``z = r / diag(Â)`` with ``matvec_into``.

    Its ``inverse_diagonal`` tells :func:`kronpde.solvers.cg.cg` that it is
    Jacobi, so that above the kernels' size threshold ``z = r *
    inverse_diagonal`` joins the fused update of ``x`` and ``r``.
    """

    def __init__(self, diagonal: np.ndarray):
        self.inverse = 1.0 / diagonal
        self.inverse_diagonal = self.inverse
        super().__init__(dtype=np.float64, shape=(diagonal.size, diagonal.size))

    def matvec_into(self, x: np.ndarray, out: np.ndarray) -> None:
        """Write ``x / diag`` into ``out``."""
        np.multiply(x, self.inverse, out=out)

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x).reshape(-1) * self.inverse

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self._matvec(x)


class ConjugateGradient(Method):
    """CG on ``Â y = D b`` with preconditioner :attr:`M` (set by the subclass), u-space results.

    The returned ``u`` of a singular problem has zero trapezoid-weighted mean
    (CG keeps ``y ⟂ D·1``).
    """

    iterative: ClassVar[bool] = True

    def __init__(self, problem: Any, **options: Any):
        self.problem = problem
        self.options = self.effective_options(options)
        self.A_hat = problem.linear_operator(symmetric=True)
        self.M: Any = None

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
        """Solve ``A u = b`` (``b`` projected) to ``||b - A u|| <= target ||b||``.

        With a ``goal`` (:class:`kronpde.solvers.accuracy.Goal`, from
        ``rtol="auto"``) instead: until the certified algebraic error is at
        most ``goal.fraction`` of the estimated discretisation error
        (:func:`kronpde.solvers.result.goal_rounds`).  ``check=False`` (numeric
        target only) computes at the end of each round only the residual the
        stopping rule needs, not the certified bound (the outcome carries none).
        """
        p = self.problem
        n = p.size
        D = p.symmetric_scale
        x = np.zeros(n) if out is None else out
        nb = float(np.linalg.norm(b))
        if nb == 0.0:
            x.fill(0.0)
            return Outcome(x, True, 0, [0.0], 0.0, f"{self.name}: b is zero, so u = 0.")
        maxiter = 10 * n if maxiter is None else maxiter
        null = D / np.linalg.norm(D) if p.singular else None
        rhs = D * b
        norm_rhs = float(np.linalg.norm(rhs))
        state = {"y": None if x0 is None else D * x0, "offset": 0}
        cb = None
        if callback is not None:
            u_work = np.empty(n)
            u_view = u_work.view()
            u_view.flags.writeable = False

            def cb(yk: np.ndarray) -> None:
                np.divide(yk, D, out=u_work)
                callback(u_view)

        mon = None
        if monitor is not None:

            def mon(k: int, r_norm: float) -> None:
                monitor(state["offset"] + k, r_norm / norm_rhs)

        def run(inner: float, left: int, warm: bool, absolute: float = 0.0) -> Round:
            res = cg(
                self.A_hat,
                rhs,
                state["y"],
                rtol=inner,
                atol=absolute,
                maxiter=left,
                M=self.M,
                callback=cb,
                monitor=mon,
                null_space=null,
            )
            state["y"] = res.x
            state["offset"] += res.iterations
            return Round(res.converged, res.iterations, res.residual_norms, res.status, res.message)

        def certify() -> Any:
            """Return the certificate of the current iterate (its true residual, the bound)."""
            np.divide(state["y"], D, out=x)
            p.remove_mean(x)
            state["certificate"] = p.error_bound(x, b)
            return state["certificate"]

        if goal is not None:
            found = goal_rounds(
                lambda atol, left, warm: run(0.0, left, warm, atol),
                certify,
                lambda: goal.estimate(x),
                goal=goal,
                maxiter=maxiter,
            )
            return goal_outcome(x, found, goal, self.name, maxiter, self.describe(), nb)

        def true_relative_residual() -> float:
            if check:
                return certify().residual_norm / nb
            np.divide(state["y"], D, out=x)
            p.remove_mean(x)
            return p.relative_residual(x, b)

        result = continue_rounds(run, true_relative_residual, target=target, maxiter=maxiter)
        return rounds_outcome(
            x, result, self.name, target, maxiter, self.describe(), state.get("certificate")
        )


class JacobiCG(ConjugateGradient):
    """``"cg"``: conjugate gradients, with Jacobi where the diagonal of ``Â`` is not constant.

    Option ``jacobi``: ``"auto"`` (default: used when ``diag(Â)`` is not
    constant, e.g. next to Robin faces), True, or False.
    """

    name = "cg"
    defaults: ClassVar[dict[str, Any]] = {"jacobi": "auto"}

    def __init__(self, problem: Any, **options: Any):
        super().__init__(problem, **options)
        jacobi = self.options["jacobi"]
        if jacobi not in ("auto", True, False):
            msg = f"cg: option jacobi={jacobi!r} must be 'auto', True or False"
            raise OptionError(msg)
        diagonal = problem.diagonal()  # of Â, equal to that of A
        constant = bool(np.ptp(diagonal) <= 1e-12 * np.max(np.abs(diagonal)))
        positive = bool(np.all(diagonal > 0))
        if jacobi is True and not positive:
            msg = "cg: option jacobi=True needs a positive diagonal, and this one has zeros"
            raise OptionError(msg)
        use = positive and (jacobi is True or (jacobi == "auto" and not constant))
        self.M = Jacobi(diagonal) if use else None
        self._requested = jacobi
        self.options = {"jacobi": use}
        if use:
            self._note = (
                "Jacobi preconditioner used (requested)."
                if constant
                else "Jacobi preconditioner used (non-constant diagonal)."
            )
        elif constant:
            self._note = (
                "No preconditioner (the diagonal of Â is constant, so Jacobi would not help)."
            )
        else:
            self._note = "No preconditioner (jacobi=False)."

    def set_shift(self, problem: Any) -> bool:
        """Take the shifted operator and its diagonal (all the set-up ``cg`` has)."""
        fresh = JacobiCG(problem, jacobi=self._requested)
        self.__dict__.update(fresh.__dict__)
        return True

    def describe(self) -> str:
        """Whether Jacobi was used, and why."""
        return self._note
