"""Outputs: write-back into a village's own workbook (writeback, fill), the township master
(master), the issue report (report), the e-mail receipt (receipt), the village template
(template) and masking of personal data (privacy)."""
