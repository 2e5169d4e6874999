"""A small reference client for the OrderFlow HMAC bridge.

    from bridges.hmac.client import BridgeClient
    bridge = BridgeClient("https://shop.example.com", client_id="…", secret="…")
    cart = bridge.call("cart.create", {})
    bridge.call("items.add", {"cart_id": cart["cart_id"], "sku": "COF-BM-250", "quantity": 2})

Standard library only, so it can be copied into any Python integration.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

from bridges.hmac.signing import sign


class BridgeError(Exception):
    def __init__(self, status: int, problem: dict):
        self.status = status
        self.problem = problem
        super().__init__(f"{status} {problem.get('code')}: {problem.get('detail')}")


class BridgeClient:
    def __init__(self, base_url: str, *, client_id: str, secret: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.secret = secret
        self.timeout = timeout

    def path(self, action: str) -> str:
        return f"/bridge/{self.client_id}/{action}"

    def headers(self, action: str, body: bytes, *, timestamp: int | None = None,
                idempotency_key: str | None = None) -> dict[str, str]:
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": "application/json",
            "X-Client-Id": self.client_id,
            "X-Timestamp": timestamp,
            "X-Signature": sign(secret=self.secret, timestamp=timestamp,
                                client_id=self.client_id, method="POST",
                                path=self.path(action), body=body),
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def call(self, action: str, payload: dict | None = None, *,
             idempotency_key: str | None = None) -> dict:
        body = json.dumps(payload or {}).encode()
        headers = self.headers(action, body, idempotency_key=idempotency_key)
        headers["X-Request-Id"] = str(uuid.uuid4())
        request = urllib.request.Request(self.base_url + self.path(action), data=body,
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                problem = json.loads(exc.read())
            except ValueError:
                problem = {"code": "http_error", "detail": str(exc)}
            raise BridgeError(exc.code, problem) from None
