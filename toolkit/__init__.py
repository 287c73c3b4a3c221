"""信访积案台账工具 (taizhang)."""
__version__ = "0.1.0"

import logging as _logging

# A library logs; the shells (CLI, daily job, buttons) decide where it goes. Without
# this, Python's last-resort handler would print warnings and tracebacks to a clerk.
_logging.getLogger("taizhang").addHandler(_logging.NullHandler())
