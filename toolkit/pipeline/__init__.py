"""Whole runs that go through every stage: one consolidation (consolidate, with its parse
cache, the master's rows and the changes since the last run) and one mail fetch (mail)."""
