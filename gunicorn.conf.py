"""gunicorn settings read by every ``gunicorn orderflow.wsgi:application`` started from the
project's folder (``make run``'s Procfile, the benchmark)."""

import gc

# The application (settings, models, every view through the URLconf: see orderflow.wsgi) is
# loaded once in the master process, before the workers are forked from it.
preload_app = True


def pre_fork(server, worker):
    """Keep the cyclic garbage collector off what the master loaded: modules, models, URL
    patterns and settings live as long as the process, yet a full collection in a worker
    re-scanned all of them (~150 k objects, about 0.1 s every ~150 checkouts here).
    Refcounting still frees any of them that stops being used; the workers' pages of them
    also stay shared with the master instead of being copied by the collector's writes."""
    gc.freeze()


# The access log never carries a query string or a card number from the path
# (orderflow/accesslog.py; docs/api.md).
logger_class = "orderflow.accesslog.AccessLogger"
