"""Streaming file exports over the REST API (``GET /api/v1/<kind>/export``): an adapter on top
of the apps, whose rows are ``bridges.exports.rows`` (the scheduled exports' and the admin's).
Nothing below imports it; its routes are wired in ``orderflow/urls.py``."""
