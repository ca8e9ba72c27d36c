"""The one exception a user sees: bad input that the CLI turns into exit code 2.

Everything a user can fix (a study file, a path, a name) raises :class:`GansweepError` with a
single line naming the file, the field and what is allowed. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class GansweepError(Exception):
    """A user error: one line, exit code 2, no traceback."""

    exit_code = 2


class StudyError(GansweepError):
    """An invalid study file or study directory."""


class NotAStudyError(GansweepError):
    """A directory given as a study directory is not one."""
