"""docs/bridge.md, followed literally: its bash signer and cart/order steps run against a live
server, and the Python client from the doc works too."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bridges.access.services import connection_create
from bridges.hmac.client import BridgeClient, BridgeError
from bridges.models import BridgeScope
from fulfillment.models import ShippingMethod
from orders.models import Order
from tests.storefront import build_storefront

DOC = Path(__file__).resolve().parents[2] / "docs" / "bridge.md"
pytestmark = pytest.mark.django_db(transaction=True)


def sh_blocks() -> str:
    return "\n".join(re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S))


@pytest.fixture
def connection(live_server):
    from tests import factories

    shop = build_storefront()
    # The doc uses the demo catalogue's skus.
    factories.ProductFactory(sku="COF-BM-250", list_price=2450, stock_on_hand=50)
    tea = factories.ProductFactory(sku="TEA-GIN-20", list_price=480, stock_on_hand=100)
    factories.ProductUnitFactory(product=tea, uom="CS24", factor=24)
    factories.ProductFactory(sku="MUG-LOGO", list_price=1500, stock_on_hand=5)
    # The guide has no shipping step: the channel ships standard by default, as the demo's.
    shop.channel.default_shipping_method = ShippingMethod.objects.get(code="standard")
    shop.channel.save()
    return connection_create(name="doc", channel=shop.channel, scopes=list(BridgeScope.values))


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("jq") and shutil.which("curl")),
                    reason="needs openssl, jq and curl (installed by .ci/run)")
def test_the_docs_bash_steps_place_an_order(live_server, connection, tmp_path):
    script = tmp_path / "steps.sh"
    script.write_text("set -euo pipefail\n" + sh_blocks())
    env = {**os.environ, "BASE": live_server.url, "CLIENT_ID": connection.client_id,
           "SECRET": connection.secret}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replayed" not in result.stdout  # cart.get twice
    order = Order.objects.get(connection=connection)
    assert order.status == "pending_payment" and order.shipping_method.code == "standard"
    assert order.number in result.stdout
    # 2 × 2450 + 24 × 480, 15 % tax, 1200 shipping — the same totals as the REST flow.
    assert '"total":"20083.00"' in result.stdout
    assert [line.sku for line in order.lines.all()] == ["COF-BM-250", "TEA-GIN-20"]


def test_the_python_client_from_the_doc(live_server, connection):
    bridge = BridgeClient(live_server.url, client_id=connection.client_id,
                          secret=connection.secret)
    cart = bridge.call("cart.create", {"email": "shopper@example.com"})
    cart = bridge.call("items.add", {"cart_id": cart["cart_id"], "sku": "COF-BM-250",
                                     "quantity": 2})
    assert cart["lines"][0]["quantity"] == 2
    wrong = BridgeClient(live_server.url, client_id=connection.client_id, secret="ofs_nope")
    with pytest.raises(BridgeError) as excinfo:
        wrong.call("cart.get", {"cart_id": cart["cart_id"]})
    assert excinfo.value.status == 401 and excinfo.value.problem["code"] == "invalid_signature"
