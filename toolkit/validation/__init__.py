"""Validation: the pandera schema (schemas/ledger.py) plus the cross-field rules (rules).

Named ``validation`` rather than ``validate``: ``toolkit.validate`` is the public function,
and importing a subpackage of the same name would replace it on the package."""
