"""The CG-based methods: one class for the stopping rule, one subclass per preconditioner.

:class:`ConjugateGradient` runs :func:`kronpde.solvers.cg.cg` on the
symmetrised system ``Â y = D b`` with the rounds of
:class:`kronpde.solvers.runner.RoundRunner` (the stopping rule refers to the
unsymmetrised residual; see :mod:`kronpde.solvers.rounds`).  Its subclasses
only choose ``M``:

* :class:`JacobiCG` (``"cg"``): Jacobi where the diagonal of ``Â`` is not
  constant, else none;
* ``AMGCG`` (``"amg-cg"``, in :mod:`kronpde.solvers.amg`): one multigrid cycle;
* ``FastDiagCG`` (``"fastdiag-cg"``, in :mod:`kronpde.solvers.fastdiag_pc`): the
  fast-diagonalization solve of a constant-coefficient operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy.sparse.linalg import LinearOperator

from kronpde.errors import OptionError, SolverError
from kronpde.solvers.cg import cg
from kronpde.solvers.indefinite import definite_refusal
from kronpde.solvers.method import Method
from kronpde.solvers.report import Outcome
from kronpde.solvers.rounds import Round
from kronpde.solvers.runner import RoundRunner

if TYPE_CHECKING:
    from kronpde.problem.protocol import SolvableProblem

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

    @classmethod
    def refusal(cls, problem: SolvableProblem, options: Any = None) -> str | None:
        """Refuse an operator not certified positive definite (``c < 0``: ``k_min λ_min + c``)."""
        return definite_refusal(problem, cls.name)

    @classmethod
    def accept(cls, problem: SolvableProblem) -> None:
        """Raise the :class:`~kronpde.errors.SolverError` of :meth:`refusal`, if any."""
        reason = definite_refusal(problem, cls.name)
        if reason is not None:
            raise SolverError(reason)

    def __init__(self, problem: SolvableProblem, **options: Any):
        self.accept(problem)  # CG needs A positive definite (a negative c may break it)
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

        With a ``goal`` (:class:`kronpde.solvers.estimate.Goal`, from
        ``rtol="auto"``) instead: until the certified algebraic error is at
        most ``goal.fraction`` of the estimated discretisation error
        (:func:`kronpde.solvers.rounds.goal_rounds`).  ``check=False`` (numeric
        target only) computes at the end of each round only the residual the
        stopping rule needs, not the certified bound (the outcome carries none).
        """
        p = self.problem
        n = p.size
        x = np.zeros(n) if out is None else out
        nb = float(np.linalg.norm(b))
        if nb == 0.0:
            x.fill(0.0)
            return Outcome(x, True, 0, [0.0], 0.0, f"{self.name}: b is zero, so u = 0.")
        maxiter = 10 * n if maxiter is None else maxiter
        runner = _CGRounds(self, x, b, nb, x0, callback, monitor, check)
        return runner.solve(target, goal, maxiter)


class _CGRounds(RoundRunner):
    """The rounds of :func:`kronpde.solvers.cg.cg` on ``Â y = D b`` of a ConjugateGradient.

    The iterate ``y`` is kept between rounds; ``callback`` gets ``u = y / D``
    and ``monitor`` the relative symmetrised residual, iterations counted over
    the rounds.
    """

    def __init__(
        self,
        method: ConjugateGradient,
        x: np.ndarray,
        b: np.ndarray,
        nb: float,
        x0: np.ndarray | None,
        callback: Any,
        monitor: Any,
        check: bool,
    ):
        p = method.problem
        D = p.symmetric_scale
        super().__init__(
            D,
            p.remove_mean,
            p.error_bound,
            name=method.name,
            x=x,
            b=b,
            nb=nb,
            note=method.describe(),
        )
        self.problem = p
        self.method = method
        self.check = check
        self.rhs = D * b
        self.norm_rhs = float(np.linalg.norm(self.rhs))
        self.null = None
        if p.singular:
            null = p.discretisation.null_vector()  # None: the constants
            v = D if null is None else D * null
            self.null = v / np.linalg.norm(v)
        self.y = None if x0 is None else D * x0
        self.callback = None if callback is None else self._u_callback(callback)
        self.monitor = None
        if monitor is not None:

            def relative(k: int, r_norm: float) -> None:
                monitor(self.offset + k, r_norm / self.norm_rhs)

            self.monitor = relative

    def _u_callback(self, callback: Any) -> Any:
        """Return CG's ``callback(y)`` that calls ``callback`` with a read-only ``u = y / D``."""
        u_work = np.empty(self.x.size)
        u_view = u_work.view()
        u_view.flags.writeable = False
        D = self.scale

        def cb(yk: np.ndarray) -> None:
            np.divide(yk, D, out=u_work)
            callback(u_view)

        return cb

    def run_round(self, rtol: float, atol: float, left: int, warm: bool) -> Round:
        """Run :func:`kronpde.solvers.cg.cg` from the current ``y``."""
        res = cg(
            self.method.A_hat,
            self.rhs,
            self.y,
            rtol=rtol,
            atol=atol,
            maxiter=left,
            M=self.method.M,
            callback=self.callback,
            monitor=self.monitor,
            null_space=self.null,
        )
        self.y = res.x
        return Round(res.converged, res.iterations, res.residual_norms, res.status, res.message)

    def iterate(self) -> np.ndarray:
        """Return the current ``y``."""
        return self.y

    def relative_residual(self) -> float:
        """Return the true relative residual; with ``check=False`` without the bound."""
        if self.check:
            return super().relative_residual()
        return self.problem.relative_residual(self.update(), self.b)


class JacobiCG(ConjugateGradient):
    """``"cg"``: conjugate gradients, with Jacobi where the diagonal of ``Â`` is not constant.

    Option ``jacobi``: ``"auto"`` (default: used when ``diag(Â)`` is not
    constant, e.g. next to Robin faces), True, or False.
    """

    name = "cg"
    defaults: ClassVar[dict[str, Any]] = {"jacobi": "auto"}
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {"jacobi": ("auto", True, False)}

    def __init__(self, problem: SolvableProblem, **options: Any):
        super().__init__(problem, **options)
        jacobi = self.options["jacobi"]
        self.check_choice("jacobi", jacobi)
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

    def set_shift(self, problem: SolvableProblem) -> bool:
        """Take the shifted operator and its diagonal (all the set-up ``cg`` has)."""
        fresh = JacobiCG(problem, jacobi=self._requested)
        self.__dict__.update(fresh.__dict__)
        return True

    def describe(self) -> str:
        """Whether Jacobi was used, and why."""
        return self._note
