"""信访积案台账工具 (taizhang): check village ledgers, compute deadlines, build the township master.

The public API (every command is also a function; see toolkit.api)::

    from toolkit import validate, fill, annotate, consolidate, deadline, fetch_mail
    from toolkit import load_config, load_settings

The stages live in subpackages, each importing only earlier ones:
core -> intake -> read -> validation -> compute -> outputs -> pipeline -> shells.
"""
__version__ = "0.1.0"

import logging as _logging

from toolkit.api import (annotate, assign, compute, consolidate, deadline, fetch_mail, fill, load_config,
                         load_settings, release, remind, resolve, submissions, trends, validate,
                         withdraw, write_brief, write_report, write_template)

__all__ = ["validate", "fill", "annotate", "consolidate", "deadline", "fetch_mail", "load_config",
           "load_settings", "resolve", "compute", "write_report", "write_template", "write_brief",
           "trends", "submissions", "release", "assign", "withdraw", "remind"]

# A library logs; the shells (CLI, daily job, buttons) decide where it goes. Without
# this, Python's last-resort handler would print warnings and tracebacks to a clerk.
_logging.getLogger("taizhang").addHandler(_logging.NullHandler())
