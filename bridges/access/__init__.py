"""API access, used by every REST API and by the bridge: storefront API keys and shopper
tokens (``keys``, ``authentication``, ``permissions``), ``Idempotency-Key`` (``idempotency``),
the bridge connections' credentials and IP allow-lists (``services``, ``selectors``,
``network``) and the few seconds a process keeps a credential row it read
(``credential_cache``).

It imports the kernel, ``customers.models`` and ``bridges.models/constants/events`` only:
never another app's domain, never another part of ``bridges``.
"""
