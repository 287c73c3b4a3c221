"""The read stage: a workbook that passed intake's pre-flight -> a ``Ledger`` of cases.

Every value is normalised and keeps its cell; value-level problems become issues.

    workbook   the file (format and macros from its bytes), opening it with
               python-calamine, choosing the ledger sheet; ``read_ledger``,
               ``read_ledger_plain`` (no pandas, for workers), ``read_workbook``
    header     finding the one or two header rows, matching column variants
    rows       which rows are cases (blank and repeated header rows, footers)
    values     raw cells -> typed values (dates, statuses, IDs, ticks, choices, numbers)
    village    which village the file is from; ``village_from_filename``
    sandboxed  pre-flight, then the reader in sandboxed worker processes
    openable   copies calamine can open: without Excel 4.0 macro/dialog sheets,
               decrypted with Excel's default password
    explain    a parser's English failure -> a Chinese reason (the text goes to the log)

Nothing is imported here: workers import ``toolkit.read.workbook`` without pandas.
"""
