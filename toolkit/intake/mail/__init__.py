"""The mailbox side of intake: IMAP (imap), MIME names and attachments (decode), and what
was already fetched or answered (state)."""
