"""The bridge's connection read (fixed SQL, see orderflow.db) loads what the ORM loads."""

from django.forms.models import model_to_dict

from bridges.models import InboundConnection
from bridges.selectors import connection_get


def test_connection_get_matches_the_orm(bridge, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = connection_get(client_id=bridge.client_id)
        channel = found.channel
    orm = InboundConnection.objects.select_related("channel").get(client_id=bridge.client_id)
    assert model_to_dict(found) == model_to_dict(orm)
    assert (found.secret, found.client_id, found.previous_secret_expires_at) == (
        orm.secret, orm.client_id, orm.previous_secret_expires_at)
    assert model_to_dict(channel) == model_to_dict(orm.channel)
    assert not found._state.adding and found._state.db == "default"
    assert connection_get(client_id="cl_nobody") is None
