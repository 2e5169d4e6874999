from decimal import Decimal

import pytest

from tests import factories


@pytest.fixture
def eager():
    """Celery runs the queued import inline, once the upload's transaction commits."""
    from orderflow.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture
def reference_data(db):
    factories.TaxClassFactory(code="standard")
    factories.TaxClassFactory(code="zero", rate__rate=Decimal("0"), rate__name="GCT 0%")
    factories.SupplierFactory(code="own", is_external=False)
