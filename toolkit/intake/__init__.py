"""Intake: which files (find: every file in a folder gets a verdict), whether each is safe to
open (preflight, with xmlscan, xlsbscan, htmlscan, olescan, farvalues and limits), worker
processes with memory and time limits (sandbox), the submission archive (archive), and the
mailbox (mail/)."""
