"""User-facing errors: one clear line, no traceback, for problems with a user's input."""

from __future__ import annotations


class MimicLitError(Exception):
    """Base class for errors caused by user input (files, names, options), not by bugs.

    The CLI catches these and prints ``error: <message>`` on one line with exit code 2.
    """


class MotionFormatError(MimicLitError):
    """A motion file is missing, unreadable, malformed or inconsistent with its robot."""


class UnsafePickleError(MotionFormatError):
    """A pickle file asked to build an object outside the small allow-list of safe types."""


class UnknownRobotError(MimicLitError):
    """A robot name that is not registered."""
