"""The emulator in `autobroker dev`: used when no STRIPE_SECRET_KEY is configured.

`dev_settings` binds the emulator's socket at once (so its URL is known before the app
is built, and no other process can take the port) and points the settings at it with
the development key and signing secret; `running` serves it beside the API, delivering
webhooks to the API's /webhooks/stripe. With a Stripe key set, neither does anything:
`dev` then talks to Stripe's test mode like production would.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from core.settings import Settings
from core.stripe_emulator import DEV_API_KEY, DEV_WEBHOOK_SECRET, StripeEmulator


def dev_settings(settings: Settings) -> tuple[Settings, socket.socket | None]:
    """The settings for `dev`, and the emulator's bound socket when it is to run."""
    if settings.stripe_secret_key is not None:
        return settings, None
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(DEV_API_KEY),
            "stripe_webhook_secret": SecretStr(DEV_WEBHOOK_SECRET),
            "stripe_api_base": f"http://127.0.0.1:{port}",
            # A lost webhook is found within two minutes on a laptop.
            "payment_reconcile_after_seconds": min(settings.payment_reconcile_after_seconds, 60),
        }
    ), sock


@asynccontextmanager
async def running(
    sock: socket.socket | None, *, api_host: str, api_port: int
) -> AsyncIterator[None]:
    """Serve the emulator on `sock` for the block (nothing when `sock` is None), sending
    webhooks to the API on `api_host`:`api_port`."""
    if sock is None:
        yield
        return
    host = "127.0.0.1" if api_host in ("0.0.0.0", "::", "") else api_host  # noqa: S104
    emulator = StripeEmulator(
        api_key=DEV_API_KEY,
        webhook_secret=DEV_WEBHOOK_SECRET,
        webhook_url=f"http://{host}:{api_port}/webhooks/stripe",
    )
    await emulator.start(sock=sock)
    try:
        yield
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
