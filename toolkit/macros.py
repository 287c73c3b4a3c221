"""Kept for button workbooks already handed out: their VBA runs
``import toolkit.macros as m; m.<handler>()`` by name.

The handlers live in :mod:`toolkit.shells.buttons`; this module only re-exports them.
"""
from toolkit.shells.buttons import (check_setup, consolidate_all, fill_active_sheet,  # noqa: F401
                                    validate_active_sheet)

__all__ = ["validate_active_sheet", "fill_active_sheet", "consolidate_all", "check_setup"]
