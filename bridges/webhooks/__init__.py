"""Outbound webhooks (Standard Webhooks): endpoints, the outbox fan-out, leased delivery,
retries, dead letters and replay (``services``), signing (``signing``), the address policy of
every outbound request (``outbound``), the Celery tasks (``tasks``), the REST API (``api``),
the admin (``admin``) and the admin dashboard's health block (``dashboard``)."""
