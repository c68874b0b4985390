"""What a curvature block carries besides the matrix the QPU sees: its classical structure.

A training step hands every solve job two forms of its block (docs/design.md, "Second round"):

* the **quantum form**, ``SolveJob.matrix``: the regularized block after pruning (pruning builds
  the oracle sparsity d a QLSA needs), with its sparsity ``SolveJob.d``;
* the **classical form**, a :class:`BlockStructure`: the *unpruned* regularized block
  H̃ = U·Uᵀ + c·I, as its N×r factor U and shift c (what Woodbury and matrix-free CG use), as the
  dense matrix where it was formed, and as an LU where a κ estimator left one.

Its :class:`~hybridsim.costs.classical.ClassicalForm` is what the cost models see: size, rank,
whether it is SPD, whether the dense block already exists (``assembled``) and whether an LU of
it exists (``factored``). Shape-only workloads build the same record without arrays, so the
same cost models apply to paper-scale blocks.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hybridsim.costs.classical import ClassicalForm

__all__ = ["BlockStructure"]


class BlockStructure(NamedTuple):
    """The classical form of one block (arrays optional: shape-only runs carry none).

    Parameters
    ----------
    form : ClassicalForm
        What the cost models see.
    pruned : bool
        Whether the job's quantum form (``SolveJob.matrix``) is a pruned version of this block,
        i.e. the two routes solve different matrices.
    shift : float, optional
        c > 0 with H̃ = U·Uᵀ + c·I (the regularization plus any L2 term).
    factor_rows, factor_weights : numpy.ndarray, optional
        U = (rows · weights[:, None])ᵀ, of shape N×r (see :attr:`factor`); kept as rows and
        weights so that blocks sharing one row set (neuron blocks) do not each hold a copy.
    matrix : numpy.ndarray, optional
        The dense H̃ (unpruned, regularized). The executor uses it only when the dense block
        exists (``form.assembled``) or rebuilds it from the factor when a dense method needs it.
    lu : hybridsim.linalg.solvers.LUFactor, optional
        An LU of H̃ a κ estimator computed (``form.factored``), reused by an LU solve.
    kappa_est, kappa_true : float, optional
        Estimated and true κ of H̃ (the CG methods' iteration count: predicted from the estimate,
        charged with the true value). When the quantum form is pruned these differ from the
        job's ``kappa_est``/``kappa_true``, which are the pruned matrix's.

    A ``NamedTuple`` (immutable; a shape run builds one per job, and a frozen dataclass paid an
    ``object.__setattr__`` per field), compared and hashed by identity as before: its arrays
    have no equality.
    """

    form: ClassicalForm
    pruned: bool = False
    shift: float | None = None
    factor_rows: np.ndarray | None = None
    factor_weights: np.ndarray | None = None
    matrix: np.ndarray | None = None
    lu: Any = None
    kappa_est: float | None = None
    kappa_true: float | None = None

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return object.__hash__(self)

    @property
    def factor(self) -> np.ndarray | None:
        """U (N×r), built on demand from the rows and weights; None without a factor."""
        if self.factor_rows is None:
            return None
        rows = self.factor_rows
        if self.factor_weights is not None:
            rows = rows * self.factor_weights[:, None]
        return rows.T

    def dense(self) -> np.ndarray:
        """H̃ as a dense array: the held matrix, or U·Uᵀ + c·I formed now (what an assembly
        charged to the job computes)."""
        if self.matrix is not None:
            return self.matrix
        U = self.factor
        if U is None or self.shift is None:
            raise ValueError("this block has neither a dense matrix nor a factor")
        H = U @ U.T
        H = 0.5 * (H + H.T)
        H[np.diag_indices_from(H)] += self.shift
        return H
