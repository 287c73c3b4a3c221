"""Mail transport has one home: only toolkit/intake/mail/transport.py connects to a mail server;
and what a clerk reads when it cannot names the server it was and the setting to check."""
from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

import mailserver
from test_layering import imports_of, product_modules
from toolkit.core.errors import EXIT_CANNOT_RUN, TaizhangError
from toolkit.intake.mail.transport import MailConnectError, SmtpError, imap_connect, smtp_connect

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


# --- what a clerk reads when a port or a server is wrong (issue 18) -----------------------------------
dovecot_server, smtp_server = mailserver.dovecot_server, mailserver.smtp_server
ENGLISH = re.compile(r"[A-Za-z]{3,}")
ALLOWED = {"IMAP", "SMTP", "SSL", "TLS", "STARTTLS", "mail", "port", "smtp", "ssl", "starttls"}


def english_words(text: str) -> set[str]:
    return set(ENGLISH.findall(text)) - ALLOWED


def failure(connect) -> str:
    with pytest.raises((MailConnectError, SmtpError)) as e:
        connect()
    return str(e.value)


@pytest.mark.mail
def test_each_failure_names_its_own_server_and_setting(dovecot_server, smtp_server):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    dead = free.getsockname()[1]
    free.close()
    cases = {   # (what was asked, the setting to check): the error
        ("SMTP", "smtp_port"): lambda: smtp_connect("127.0.0.1", dovecot_server.port, security="plain",
                                                   user="u", password="p", timeout=10),
        ("IMAP", "port"): lambda: imap_connect("127.0.0.1", smtp_server.port, security="plain",
                                               user="u", password="p", timeout=10),
        ("SMTP", "smtp_port "): lambda: smtp_connect("127.0.0.1", dead, security="plain", user="u",
                                                    password="p", timeout=10),
        ("IMAP", "port "): lambda: imap_connect("127.0.0.1", dead, security="plain", user="u", password="p",
                                                timeout=10),
    }
    for (protocol, key), connect in cases.items():
        text = failure(connect)
        other = "IMAP" if protocol == "SMTP" else "SMTP"
        role = "发件服务器" if protocol == "SMTP" else "收件服务器"
        assert text.startswith(f"无法连接{role}（{protocol}）"), text
        assert f"[mail] {key.strip()}（" in text, text
        assert f"开启 {other}" not in text and not english_words(text), text
        if key == key.strip():                   # the other protocol answered: said as such
            assert f"应答的是{'收件服务器（IMAP）' if protocol == 'SMTP' else '发件服务器（SMTP）'}" in text, text
