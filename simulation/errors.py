"""Error classes shared by every layer (the bottom of the package: imports nothing of it).

Every error caused by what a user wrote (a file, a command-line option, a parameter) derives
from :class:`UserError`: the command line prints it as one message with exit status 2, and
the Python API raises it as a typed exception.
"""

from __future__ import annotations


class UserError(Exception):
    """An error caused by the user's input; printed without a traceback (exit 2)."""
