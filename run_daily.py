"""Rebuild the township master every day: ``python run_daily.py [--once]``.

A thin shell over :mod:`toolkit.shells.daily` (see there, and docs/guide.md for
registering it with Windows Task Scheduler).
"""
import sys

if __name__ == "__main__":   # required: readers run in spawned child processes
    from toolkit.shells.daily import main
    sys.exit(main())
