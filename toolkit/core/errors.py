"""The one base class of every error whose message is a Chinese sentence for the clerk.

A ``TaizhangError`` says what went wrong and what to do; every shell (command line,
daily job, Excel buttons, server) shows ``str(e)`` as it is and exits with
``e.exit_code``. Anything else is a bug: the shells log its traceback and show the
clerk one Chinese sentence with where the log is (``toolkit.core.logs``).

Exit codes, the same in every command:
- 0: done;
- 1: the job ran but needs the clerk (errors found, a file not written, the master
  not written, another run busy);
- 2: the job could not start (a mistyped command, a wrong taizhang.toml or settings
  workbook, a missing calendar year, an unexpected error).
"""
from __future__ import annotations

EXIT_OK, EXIT_ATTENTION, EXIT_CANNOT_RUN = 0, 1, 2


class TaizhangError(Exception):
    """A problem the clerk can act on; ``str(e)`` is Chinese and says what to do."""
    exit_code = EXIT_CANNOT_RUN


class ConfigError(TaizhangError):
    """A problem in taizhang.toml (or a file a command was told to use); Chinese, names the key."""


class UploadRefused(TaizhangError):
    """An upload on the office page that cannot be taken as sent (not a spreadsheet, could not
    be checked); Chinese, shown on the page. ``retry``: it can simply be sent again soon
    (another run holds the office's lock)."""
    exit_code = EXIT_ATTENTION
    retry = False


class UploadBusy(UploadRefused):
    retry = True
