import json
import time
from dataclasses import dataclass

import pytest
from django.test import Client

from bridges.access.services import connection_create
from bridges.hmac.signing import sign
from bridges.models import BridgeScope
from tests.storefront import build_storefront


@dataclass
class Bridge:
    connection: object
    client: Client

    @property
    def client_id(self):
        return self.connection.client_id

    def headers(self, action, body: bytes, *, secret=None, timestamp=None, client_id=None,
                path_client_id=None, **extra):
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        path = f"/bridge/{path_client_id or self.client_id}/{action}"
        headers = {
            "HTTP_X_CLIENT_ID": client_id or self.client_id,
            "HTTP_X_TIMESTAMP": timestamp,
            "HTTP_X_SIGNATURE": sign(secret=secret or self.connection.secret,
                                     timestamp=timestamp, client_id=client_id or self.client_id,
                                     method="POST", path=path, body=body),
        }
        headers.update(extra)
        return path, headers

    def call(self, action, payload=None, *, raw: bytes | None = None, **kwargs):
        body = raw if raw is not None else json.dumps(payload or {}).encode()
        path, headers = self.headers(action, body, **kwargs)
        return self.client.post(path, body, content_type="application/json", **headers)

    def ok(self, action, payload=None, **kwargs):
        response = self.call(action, payload, **kwargs)
        assert response.status_code == 200, response.content
        return response.json()


@pytest.fixture
def shop(db):
    return build_storefront()


@pytest.fixture
def bridge(shop):
    connection = connection_create(name="Headless shop", channel=shop.channel,
                                   scopes=list(BridgeScope.values))
    return Bridge(connection=connection, client=Client(REMOTE_ADDR="203.0.113.7"))
