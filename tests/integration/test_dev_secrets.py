"""The development Stripe secrets: random, made once per data directory, shared by the
emulator and the API through `<data dir>/stripe-emulator.json`."""

from __future__ import annotations

import json
from pathlib import Path

import stripe

from core.cli import _servers
from core.settings import Environment, Settings
from core.stripe_emulator.dev import dev_secrets, dev_settings, running
from core.stripe_emulator.webhooks import sign


def _settings(data_dir: Path) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url="postgresql://127.0.0.1:1/none",
        redis_url="redis://127.0.0.1:1/0",
        data_dir=data_dir,
        _env_file=None,
    )


def test_each_data_dir_gets_random_secrets_made_once(tmp_path: Path) -> None:
    first = dev_secrets(tmp_path / "a")
    assert dev_secrets(tmp_path / "a") == first
    other = dev_secrets(tmp_path / "b")
    assert other.webhook_secret != first.webhook_secret
    assert other.api_key != first.api_key
    stored = tmp_path / "a" / "stripe-emulator.json"
    assert json.loads(stored.read_text()) == {
        "api_key": first.api_key,
        "webhook_secret": first.webhook_secret,
    }
    assert stored.stat().st_mode & 0o777 == 0o600


async def test_the_api_settings_and_the_emulator_share_the_data_dirs_secrets(
    tmp_path: Path,
) -> None:
    settings, sock = dev_settings(_settings(tmp_path))
    assert sock is not None
    found = dev_secrets(tmp_path)
    assert settings.stripe_webhook_secret is not None
    assert settings.stripe_webhook_secret.get_secret_value() == found.webhook_secret
    assert settings.stripe_secret_key is not None
    assert settings.stripe_secret_key.get_secret_value() == found.api_key
    async with running(sock, settings, api_host="127.0.0.1", api_port=1) as emulator:
        assert emulator is not None
        body = b'{"object": "event"}'
        header = sign(body, emulator.sender.secret)
        # What the emulator signs, the API's secret verifies (stripe-python's verifier).
        stripe.WebhookSignature.verify_header(
            body.decode(), header, settings.stripe_webhook_secret.get_secret_value(), 300
        )


def test_a_commands_data_dir_holds_its_feed_files(tmp_path: Path) -> None:
    with _servers(_settings(Path(".autobroker")), tmp_path) as settings:
        assert settings.data_dir == tmp_path
        assert settings.feeds_path == tmp_path / "feeds"
