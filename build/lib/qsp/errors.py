"""Exception and warning classes raised by qsp.

Every error a user can trigger is a :class:`QSPError`. Each subclass also
derives from the matching built-in exception, so ``except ValueError`` keeps
working in code that does not know about qsp.
"""

from __future__ import annotations

__all__ = [
    "QSPError",
    "ModelError",
    "UnsupportedModelError",
    "UnknownIdError",
    "InputError",
    "DosingError",
    "SimulationError",
    "QSPWarning",
]


class QSPError(Exception):
    """Base class of every error qsp raises on purpose."""


class ModelError(QSPError, ValueError):
    """The model text or file cannot be read, parsed or compiled."""


class UnsupportedModelError(ModelError):
    """The model uses a construct the simulator cannot integrate faithfully.

    The ``construct`` attribute names it (``"algebraic rule"``,
    ``"delay()"``, ``"fast reaction"``).
    """

    def __init__(self, message: str, construct: str):
        super().__init__(message)
        self.construct = construct


class UnknownIdError(QSPError, LookupError):
    """An id (parameter, species, output, dose target, model name) does not exist."""

    def __str__(self) -> str:  # KeyError-style quoting is not wanted here
        return str(self.args[0]) if self.args else ""


class InputError(QSPError, ValueError):
    """An argument has an invalid value (a time grid, a number, an option)."""


class DosingError(QSPError, ValueError):
    """A dose or regimen is invalid or cannot be converted to model units."""


class SimulationError(QSPError, RuntimeError):
    """The integrator failed or produced non-finite values."""


class QSPWarning(UserWarning):
    """A condition the user should know about that does not stop the work."""
