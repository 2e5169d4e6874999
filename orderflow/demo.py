"""Demo credentials: generated on first seed, kept under var/ (never in the repository)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from django.conf import settings


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.json"


def load_credentials() -> dict:
    path = credentials_path()
    if path.exists():
        try:
            return json.loads(path.read_text())
        except ValueError:
            return {}
    return {}


def save_credentials(data: dict) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)


def new_password() -> str:
    return secrets.token_urlsafe(12)
