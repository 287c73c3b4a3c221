"""Thin shells over toolkit.api: the command line (cli), the daily job (daily), the Excel
buttons (buttons), the button workbook builder (workbench), the button server (server)."""
