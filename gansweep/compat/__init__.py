"""Every use of a library's private internals, one module per library.

Each module names the versions it was checked against (``TESTED``) and what it touches
(``INTERNALS``); ``tests/test_compat.py`` fails when the installed version leaves that range or an
internal is gone, so an upgrade breaks a test instead of a study.
"""
