"""Intake: which files (find), whether each is safe to open (preflight, xmlscan, limits),
worker processes with memory and time limits (sandbox), the submission archive (archive),
and the mailbox (mail/)."""
