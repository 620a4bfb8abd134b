"""The optimizer's exceptions: one tree, rooted at OptimizerError."""


class OptimizerError(Exception):
    """Base of every error the optimizer raises."""


class InvalidInputError(OptimizerError, ValueError):
    """The site, sessions, options or scenario are inconsistent or out of range."""


class SolverError(OptimizerError):
    """The exact method's LP solver did not reach an optimum (a bug or a numerical failure)."""
