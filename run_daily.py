"""Rebuild the township master every day, from a checkout: ``python run_daily.py [--once [--if-due]]``.

The same as ``taizhang daily`` (the command an installed package has): a thin shim over
:mod:`toolkit.shells.daily`; docs/guide.md says how to register it with Windows Task Scheduler.
"""
import sys

if __name__ == "__main__":   # required: readers run in spawned child processes
    from toolkit.shells.daily import main
    sys.exit(main(sys.argv[1:]))
