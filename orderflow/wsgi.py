import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderflow.settings")
application = get_wsgi_application()

# Import every view now (through the URLconf) rather than on the first request; gunicorn
# (gunicorn.conf.py) then keeps the cyclic collector off all of it before forking workers.
get_resolver().url_patterns  # noqa: B018 - the import is the point
