import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderflow.settings")
application = get_wsgi_application()

# Import every view now (through the URLconf) rather than on the first request, then keep the
# cyclic garbage collector off what is loaded: modules, models, URL patterns, serializers and
# settings live as long as the process, yet a full collection re-scanned all of them (~150 k
# objects, about 0.1 s every ~150 checkouts here) and every collection walked what survived
# into its generation. Refcounting still frees any of them that stops being used.
get_resolver().url_patterns  # noqa: B018 - the import is the point
gc.freeze()
