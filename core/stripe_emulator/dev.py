"""The emulator in `autobroker dev`: used when no STRIPE_SECRET_KEY is configured.

`dev_settings` binds the emulator's socket at once (so its URL is known before the app
is built, and no other process can take the port) and points the settings at it with
the data directory's development secrets; `running` serves it beside the API, with the
same secrets, delivering webhooks to the API's /webhooks/stripe. With a Stripe key set,
neither does anything: `dev` then talks to Stripe's test mode like production would.

The development secrets (an API key and a webhook signing secret) are random, made once
per data directory and kept in `<data dir>/stripe-emulator.json` (mode 0600), which the
emulator and the API both read: nobody can forge a "payment succeeded" webhook to a
`dev` from a secret printed in the source, and a restart keeps the same secrets.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from core.settings import Settings
from core.stripe_emulator import StripeEmulator

SECRETS_FILE = "stripe-emulator.json"


@dataclass(frozen=True, slots=True)
class DevSecrets:
    """The emulator's API key and webhook signing secret for one data directory."""

    api_key: str
    webhook_secret: str


def dev_secrets(data_dir: Path) -> DevSecrets:
    """The data directory's development secrets, made (randomly, once) if it has none."""
    path = data_dir / SECRETS_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    made = DevSecrets(
        api_key=f"sk_test_{secrets.token_urlsafe(24)}",
        webhook_secret=f"whsec_{secrets.token_urlsafe(32)}",
    )
    try:
        # O_EXCL: of two processes starting at once, one writes and both read its file.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            json.dump({"api_key": made.api_key, "webhook_secret": made.webhook_secret}, handle)
        return made
    stored = json.loads(path.read_text())
    return DevSecrets(api_key=str(stored["api_key"]), webhook_secret=str(stored["webhook_secret"]))


def dev_settings(settings: Settings) -> tuple[Settings, socket.socket | None]:
    """The settings for `dev`, and the emulator's bound socket when it is to run."""
    if settings.stripe_secret_key is not None:
        return settings, None
    found = dev_secrets(settings.data_dir)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(found.api_key),
            "stripe_webhook_secret": SecretStr(found.webhook_secret),
            "stripe_api_base": f"http://127.0.0.1:{port}",
            # A lost webhook is found within two minutes on a laptop.
            "payment_reconcile_after_seconds": min(settings.payment_reconcile_after_seconds, 60),
        }
    ), sock


@asynccontextmanager
async def running(
    sock: socket.socket | None, settings: Settings, *, api_host: str, api_port: int
) -> AsyncIterator[StripeEmulator | None]:
    """Serve the emulator on `sock` for the block (nothing when `sock` is None), with the
    data directory's secrets, sending webhooks to the API on `api_host`:`api_port`."""
    if sock is None:
        yield None
        return
    host = "127.0.0.1" if api_host in ("0.0.0.0", "::", "") else api_host  # noqa: S104
    found = dev_secrets(settings.data_dir)
    emulator = StripeEmulator(
        api_key=found.api_key,
        webhook_secret=found.webhook_secret,
        webhook_url=f"http://{host}:{api_port}/webhooks/stripe",
    )
    await emulator.start(sock=sock)
    try:
        yield emulator
    finally:
        await emulator.stop()


def banner(settings: Settings, emulated: bool) -> str:
    """What `dev` prints about payments."""
    if not emulated:
        return f"  Stripe       {settings.stripe_api_base or 'https://api.stripe.com'}\n"
    return (
        f"  Stripe       local emulator at {settings.stripe_api_base} (no STRIPE_SECRET_KEY)\n"
        '  Pay          mutation { checkout(input: {orderId: "…"}) { payment { id } } }, then\n'
        '               mutation { confirmTestPayment(input: {paymentId: "…", '
        'paymentMethod: "pm_card_visa"}) { order { status } } }\n'
    )
