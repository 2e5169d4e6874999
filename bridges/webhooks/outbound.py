"""Outbound HTTP for webhooks and exports: address policy, no redirects, bounded bodies, and
when to try again after a failure.

A receiver URL must not let a staff member (or a DNS record they control) make the worker
talk to the database, the cloud metadata service or anything else on the private network, so
every send resolves the host, refuses private/loopback/link-local/reserved addresses unless
they are allow-listed (``ORDERFLOW_WEBHOOK_ALLOW_PRIVATE``), and then connects to exactly the
address it checked (no second lookup an attacker could rebind), with the original host name in
``Host`` and for TLS verification.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from threading import Lock
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from bridges.txlog.redaction import MAX_BODY

USER_AGENT = "OrderFlow-Webhooks/1.0 (+https://www.standardwebhooks.com/)"
KEPT_RESPONSE_HEADERS = 20


class AddressRefused(Exception):
    """The URL is not one OrderFlow may send to."""


@dataclass
class Response:
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: str = ""
    latency_ms: int = 0
    error: str = ""
    error_kind: str = ""  # "", "refused", "dns", "connect", "timeout", "tls", "protocol"


def _allow_list():
    hosts, networks = set(), []
    for entry in settings.ORDERFLOW_WEBHOOK_ALLOW_PRIVATE:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower())
    return hosts, networks


def host_allow_listed(host: str) -> bool:
    hosts, networks = _allow_list()
    host = host.lower().strip("[]")
    if host in hosts:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in networks)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _address_allowed(host: str, ip_text: str) -> bool:
    ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
    if _public(ip):
        return True
    hosts, networks = _allow_list()
    return host.lower() in hosts or any(ip.version == n.version and ip in n for n in networks)


def check_url(url: str, *, resolve: bool = True) -> None:
    """Raise ``AddressRefused`` naming why ``url`` may not receive deliveries.

    https is required unless DEBUG is on or the host is on the allow-list. With ``resolve``,
    every address the host resolves to must be public or allow-listed; a host that does not
    resolve (yet) is accepted here and fails at send time, where it is logged.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range or not a number
        parts.hostname and parts.hostname.encode("idna")
    except (ValueError, UnicodeError):
        raise AddressRefused("Not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("The URL must be an http(s) URL with a host.")
    if parts.username or parts.password:
        raise AddressRefused("Credentials in the URL are not allowed; use custom headers.")
    if parts.scheme != "https" and not (settings.DEBUG or host_allow_listed(parts.hostname)):
        raise AddressRefused("The URL must use https.")
    if resolve:
        try:
            addresses = _resolve(parts.hostname, parts.port or 443)
        except OSError:
            return
        for address in addresses:
            if not _address_allowed(parts.hostname, address):
                raise AddressRefused(
                    f"{parts.hostname} resolves to {address}, a private, loopback or "
                    "link-local address; list it in ORDERFLOW_WEBHOOK_ALLOW_PRIVATE to allow it."
                )


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class _Pools:
    """Keep-alive connection pools per (scheme, address, port, host), least recently used out."""

    def __init__(self, size: int = 64):
        self.size = size
        self.pools: OrderedDict = OrderedDict()
        self.lock = Lock()

    def get(self, scheme: str, address: str, port: int, host: str):
        key = (scheme, address, port, host)
        with self.lock:
            pool = self.pools.get(key)
            if pool is not None:
                self.pools.move_to_end(key)
                return pool
            if scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    address, port, maxsize=2, retries=False, server_hostname=host,
                    assert_hostname=host, cert_reqs="CERT_REQUIRED",
                )
            else:
                pool = urllib3.HTTPConnectionPool(address, port, maxsize=2, retries=False)
            self.pools[key] = pool
            while len(self.pools) > self.size:
                _, old = self.pools.popitem(last=False)
                old.close()
            return pool


_pools = _Pools()


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST once. Never raises for network trouble: the ``Response`` carries the error."""
    started = time.monotonic()
    result = Response()
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        check_url(url, resolve=False)
        try:
            addresses = _resolve(host, port)
        except OSError as exc:
            result.error, result.error_kind = f"could not resolve {host}: {exc}", "dns"
            return result
        refused = [a for a in addresses if not _address_allowed(host, a)]
        if refused:
            raise AddressRefused(f"{host} resolves to {refused[0]}, which is not allowed")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        default_port = port == (443 if parts.scheme == "https" else 80)
        host_header = (f"[{host}]" if ":" in host else host) + ("" if default_port else f":{port}")
        pool = _pools.get(parts.scheme, addresses[0], port, host)
        response = pool.urlopen(
            "POST", path, body=body, headers={**headers, "Host": host_header},
            redirect=False, retries=False, preload_content=False,
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        )
        raw = b""
        try:
            raw = response.read(MAX_BODY + 1)
            result.status = response.status
            result.headers = dict(list(response.headers.items())[:KEPT_RESPONSE_HEADERS])
            text = raw.decode("utf-8", errors="replace")
            result.body = text[:MAX_BODY] + ("…[truncated]" if len(raw) > MAX_BODY else "")
        finally:
            if len(raw) > MAX_BODY:
                response.close()  # unread rest: the connection cannot be reused
            else:
                response.release_conn()
    except AddressRefused as exc:
        result.error, result.error_kind = str(exc), "refused"
    except urllib3.exceptions.NewConnectionError as exc:  # before TimeoutError: a subclass
        result.error, result.error_kind = f"could not connect: {exc}", "connect"
    except urllib3.exceptions.TimeoutError as exc:
        result.error, result.error_kind = f"timed out after {timeout:g} s ({exc})", "timeout"
    except urllib3.exceptions.SSLError as exc:
        result.error, result.error_kind = f"TLS error: {exc}", "tls"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        result.error, result.error_kind = f"{type(exc).__name__}: {exc}", "protocol"
    finally:
        result.latency_ms = int((time.monotonic() - started) * 1000)
    result.error = result.error[:500]
    return result


# --- when to try again -------------------------------------------------------------------------

def retry_after_seconds(response: Response, now: datetime) -> float | None:
    if response.status not in (429, 503):
        return None
    raw = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds()) if when.tzinfo else None


def retry_delay(series_attempts: int, *, rng: random.Random | None = None) -> float:
    """Seconds before the next try after ``series_attempts`` failed tries, with jitter."""
    schedule = settings.ORDERFLOW_WEBHOOK_RETRY_SCHEDULE
    base = schedule[min(series_attempts, len(schedule)) - 1]
    jitter = settings.ORDERFLOW_WEBHOOK_RETRY_JITTER
    return base * (rng or random).uniform(1 - jitter, 1 + jitter)
