"""The read stage: a workbook that passed intake's pre-flight -> a ``Ledger`` of cases.

Every value is normalised and keeps its cell; value-level problems become issues.

    workbook   the file, opening it with the reader its bytes call for, choosing
               the ledger sheet; ``read_ledger`` (no pandas: workers use it),
               ``read_workbook``
    fileformat what a file is from its bytes, never its name, and the name to open it under
    header     finding the one or two header rows, matching column variants, telling a
               ledger's header from a roster's
    rows       which rows are cases (blank and repeated header rows, footers)
    values     raw cells -> typed values (dates, statuses, IDs, ticks, choices, numbers)
    village    which village the file is from; ``village_from_filename``
    sandboxed  pre-flight, then the reader in sandboxed worker processes
    openable   copies calamine can open: without Excel 4.0 macro/dialog sheets,
               decrypted with Excel's default password, without lone far values
    repair     copies of valid but unusual packages calamine stumbles on (UTF-16
               parts, odd sheet states and dimensions, missing sheet parts, ODS
               without mimetype or pretty-printed)
    htmlbook   web pages saved as .xls, in calamine's shape
    oldxls     Excel 2.x-95 (BIFF2-7) through xlrd, in calamine's shape
    saved      the workbook's own last-saved time
    explain    a parser's English failure -> a Chinese reason (the text goes to the log)

Nothing is imported here: workers import ``toolkit.read.workbook`` without pandas.
"""
