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


class MotionRobotUnnamedError(MotionFormatError):
    """Clips that do not say which robot they are for, and no robot was passed to read them with.

    Callers that know the robot (the simulator's) catch this type and retry with it."""


class UnknownRobotError(MimicLitError):
    """A robot name that is not registered."""


class RobotSpecError(MimicLitError):
    """A YAML robot spec file that is missing, malformed or inconsistent with its MJCF."""


#: Set to 1 to get the full traceback (and the parser's full message) instead of the one line.
DEBUG_ENV = "MIMIC_LIT_DEBUG"


def debug_enabled() -> bool:
    """Whether ``MIMIC_LIT_DEBUG`` asks for tracebacks instead of one-line errors."""
    import os

    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def find_user_error(exc: BaseException) -> MimicLitError | None:
    """The :class:`MimicLitError` behind ``exc``: itself, or one that caused it.

    Libraries wrap what our code raises inside them (jsonargparse when it builds a config class,
    Lightning's hooks): following ``__cause__`` / ``__context__`` finds our one-line error again.
    Anything else (a bug) gives ``None`` and keeps its traceback.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, MimicLitError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
