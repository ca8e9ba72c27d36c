"""The exceptions a user sees: one line each, bad input exit code 2, the machine's failure 1.

Everything a user can fix (a study file, a path, a name) raises :class:`GansweepError` with a
single line naming the file, the field and what is allowed (exit 2). The machine failing (a full
disk, an I/O error) raises :class:`MachineError` (exit 1). Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import errno


class GansweepError(Exception):
    """A user error: one line, exit code 2, no traceback."""

    exit_code = 2


class MachineError(GansweepError):
    """Not the user's input: the machine failed (a full disk, an I/O error, a read that kept
    failing). One line, exit code 1."""

    exit_code = 1


class StudyError(GansweepError):
    """An invalid study file or study directory."""


class NotAStudyError(GansweepError):
    """A directory given as a study directory is not one."""


USER_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP, errno.EACCES, errno.EPERM,
                         errno.EROFS, errno.EEXIST, errno.ENOTEMPTY, errno.ENAMETOOLONG})
"""What a file system answers about a path someone gave (missing, a link loop, not a directory,
no permission, read-only): theirs to fix. Any other errno is the machine's (a full disk, an I/O
error, a network file system gone)."""


def os_error_exit_code(exc: OSError) -> int:
    """2 when the path the error names is the user's to fix, 1 when the machine failed."""
    return 2 if exc.filename is not None and exc.errno in USER_ERRNOS else 1


def machine_failed(exc: BaseException) -> bool:
    """True for an ``OSError`` of the machine (an errno outside :data:`USER_ERRNOS`)."""
    return isinstance(exc, OSError) and exc.errno is not None and exc.errno not in USER_ERRNOS


def path_error(message: str, exc: BaseException, user: type[GansweepError] = GansweepError) -> GansweepError:
    """``message`` as the user's error ``user`` (exit 2), or as :class:`MachineError` (exit 1) when
    ``exc`` is the machine failing on the path."""
    return MachineError(message) if machine_failed(exc) else user(message)
