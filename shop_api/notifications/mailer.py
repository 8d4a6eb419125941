"""Where e-mails from the outbox go: the ``Mailer`` interface and its built-in mailbox.

A real deployment plugs an SMTP relay or a mail API (SES, Postmark, SendGrid) in behind
``Mailer``. The built-in ``MailboxDirectory`` needs no mail server: each message becomes an
``.eml`` file (open it with any mail client) under ``$MERCADO_HOME/mailbox/``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

DEFAULT_SENDER = "Mercado <no-reply@mercado.invalid>"


@dataclass(frozen=True)
class Email:
    id: uuid.UUID
    to: str
    subject: str
    body: str
    created_at: datetime


class Mailer(Protocol):
    def send(self, email: Email) -> None:
        """Hand the message over; sending the same ``email.id`` again must not duplicate it."""
        ...


class MailboxDirectory:
    """Development mailer: one ``<id>.eml`` per message, written atomically."""

    def __init__(self, root: Path, sender: str = DEFAULT_SENDER) -> None:
        self.root = root
        self.sender = sender

    def send(self, email: Email) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = format_datetime(email.created_at)
        message["Message-ID"] = f"<{email.id}@mercado.invalid>"
        message.set_content(email.body)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
            os.replace(tmp, self.root / f"{email.id}.eml")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
