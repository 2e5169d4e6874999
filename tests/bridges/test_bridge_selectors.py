"""The bridge's connection read: the connection with its channel, in one query."""

from bridges.access.selectors import connection_get


def test_connection_get_reads_the_connection_with_its_channel(bridge,
                                                              django_assert_num_queries):
    with django_assert_num_queries(1):
        found = connection_get(client_id=bridge.client_id)
        channel = found.channel
    expected = bridge.connection
    assert (found.pk, found.secret, channel.pk) == (expected.pk, expected.secret,
                                                     expected.channel_id)
    assert connection_get(client_id="cl_nobody") is None
