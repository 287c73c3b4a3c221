"""Every file the tests, the benchmarks and devtools/ build: one home, not installed.

- ``sheet``: the one ledger-sheet writer (title, 填报单位 row, header rows, cases, footer);
- ``cases``: believable backlog cases of 南郊乡 (names, ID numbers, matters, dates, plans);
- ``ledgers``: realistic village ledgers with each quirk and fault (``make_ledger``);
- ``layouts``: hand-specified ledgers for reader tests (``write_ledger``, ``write_rows``);
- ``preserve``: feature-rich ledgers for write-back, and the preservation proofs;
- ``hostile``: hostile and broken files for the intake;
- ``libreoffice``: the one way to run LibreOffice (always a private profile);
- ``demo``: the generator of the committed demo inbox (toolkit/demo/inbox);
- ``bench``: the benchmark inbox.

Tests import them as ``factories.<module>`` (pytest puts tests/ on sys.path); bench
scripts and devtools/make_demo.py put tests/ on sys.path themselves.
"""
