"""Shared foundations every stage uses: the field registry, the issue catalogue, the case
model, cell addresses, files (atomic write, hash, backups, the run lock), the error base
class, logging, the administrator's config and the clerk's settings, value parsing."""
