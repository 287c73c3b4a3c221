"""Mail transport has one home: only toolkit/intake/mail/transport.py connects to a mail server."""
from __future__ import annotations

from pathlib import Path

from test_layering import imports_of, product_modules
from toolkit.core.errors import EXIT_CANNOT_RUN, TaizhangError
from toolkit.intake.mail.transport import MailConnectError, SmtpError

HOME = Path("intake") / "mail" / "transport.py"


def test_only_the_transport_module_speaks_smtp_and_tls():
    users: dict[str, set[str]] = {"smtplib": set(), "ssl": set(), "imaplib": set()}
    for path, module in product_modules():
        for _, name in imports_of(path, module):
            if name in users:
                users[name].add(module)
    assert users["smtplib"] == users["ssl"] == {"toolkit.intake.mail.transport"}
    # imap.py speaks IMAP commands over the connection transport.py opened
    assert users["imaplib"] == {"toolkit.intake.mail.transport", "toolkit.intake.mail.imap"}


def test_cannot_connect_is_a_clerks_error_that_could_not_start():
    for cls in (MailConnectError, SmtpError):
        assert issubclass(cls, TaizhangError) and cls("连不上").exit_code == EXIT_CANNOT_RUN
