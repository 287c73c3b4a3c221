"""信访积案台账工具 (taizhang): check village ledgers, compute deadlines, build the township master.

The public API (every command is also a function; see toolkit.api)::

    from toolkit import validate, fill, annotate, consolidate, deadline, fetch_mail
    from toolkit import load_config, load_settings

The stages live in subpackages, each importing only earlier ones:
core -> intake -> read -> validation -> compute -> outputs -> pipeline -> shells.
"""
__version__ = "0.1.0"

import logging as _logging

__all__ = ["validate", "fill", "annotate", "consolidate", "deadline", "fetch_mail", "load_config",
           "load_settings", "resolve", "compute", "write_report", "write_template", "write_brief",
           "trends", "submissions", "release", "assign", "withdraw", "remind"]


def __getattr__(name: str):
    """``from toolkit import validate`` loads toolkit.api on first use: a reader process, which
    imports toolkit.read and toolkit.intake only, does not pay for the API's imports (30 ms)."""
    if name in __all__:
        from toolkit import api
        return getattr(api, name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


# A library logs; the shells (CLI, daily job, buttons) decide where it goes. Without
# this, Python's last-resort handler would print warnings and tracebacks to a clerk.
_logging.getLogger("taizhang").addHandler(_logging.NullHandler())
