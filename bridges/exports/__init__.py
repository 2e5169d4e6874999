"""Scheduled exports: orders changed since the last run, as CSV or JSON, to a signed URL or a
directory (``services``), run by Celery beat (``tasks``), managed in the admin (``admin``)."""
