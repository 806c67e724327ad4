"""Email through SMTP with aiosmtplib: a plain-text message, and for a confirmation the meeting's invitation
attached as ``invite.ics`` (``text/calendar; method=REQUEST``). Used with the tenant's ``smtp`` vault record
(host, port, username, password, from_email, security: ``starttls`` / ``tls`` / ``none``) or, without one, the
platform's relay (``AFO_SMTP_RELAY_*``: the aiosmtpd server ``afo up`` starts, or a real relay with a login and
TLS). Server certificates are always verified, against the system's authorities plus ``ca_file`` when given."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from afo_notifier.domain.channels import SendError, SmtpSecurity


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    from_email: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: SmtpSecurity = "none"
    timeout_s: float = 10.0
    ca_file: str | None = None  # PEM certificates trusted besides the system's (a private relay's own CA)


def message(server: SmtpServer, to: str, subject: str, body: str, ics: str | None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = server.from_email, to, subject
    mail["Message-ID"] = make_msgid(domain=server.from_email.partition("@")[2] or "afo.local")
    mail.set_content(body)
    if ics is not None:
        mail.add_attachment(ics.encode(), maintype="text", subtype="calendar", filename="invite.ics",
                            params={"method": "REQUEST"})
    return mail


async def send_email(server: SmtpServer, to: str, subject: str, body: str, ics: str | None, *,
                     provider: str = "smtp") -> str:
    """The message's Message-ID; a failure is a ``SendError`` of ``provider`` (the name the send is recorded
    under: ``smtp`` for the tenant's server, ``relay`` for the platform's)."""
    mail = message(server, to, subject, body, ics)
    try:
        await aiosmtplib.send(mail, hostname=server.host, port=server.port, username=server.username,
                              password=server.password, use_tls=server.security == "tls",
                              start_tls=server.security == "starttls", timeout=server.timeout_s,
                              cert_bundle=server.ca_file)
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise SendError(provider, exc.code,
                        f"the SMTP server refused the username and password: SMTP {exc.code}: {exc.message}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise SendError(provider, exc.code, f"SMTP {exc.code}: {exc.message}") from exc
    except ValueError as exc:  # an address SMTP cannot carry (aiosmtplib refuses it before sending)
        raise SendError(provider, None, str(exc)) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise SendError(provider, None, f"{type(exc).__name__}: {exc}") from exc
    return str(mail["Message-ID"])
