"""Signature vectors any language can check itself against (computed with openssl)."""

from bridges.hmac.signing import canonical_message, sign

SECRET = "ofs_test_vector_secret"


def test_vector_with_a_body():
    # BODY='{"sku":"COF-BM-250","quantity":2}'
    # printf '1767225600\nofc_vector\nPOST\n/bridge/ofc_vector/items.add\n'"$(printf %s "$BODY"
    #   | openssl dgst -sha256 -hex | cut -d' ' -f2)" | openssl dgst -sha256 -hmac "$SECRET"
    body = b'{"sku":"COF-BM-250","quantity":2}'
    assert canonical_message(timestamp="1767225600", client_id="ofc_vector", method="post",
                             path="/bridge/ofc_vector/items.add", body=body) == (
        b"1767225600\nofc_vector\nPOST\n/bridge/ofc_vector/items.add\n"
        b"2bbb62c957294e8d25b3ca9ed637b87f672a82038717ebc5076049a42722a89e")
    assert sign(secret=SECRET, timestamp="1767225600", client_id="ofc_vector", method="POST",
                path="/bridge/ofc_vector/items.add", body=body) == (
        "sha256=00f9092912abc6d9dae99b053b7d887b5fabac74f28e510d518e51fcc36d86e9")


def test_vector_with_an_empty_body():
    assert sign(secret=SECRET, timestamp="1767225600", client_id="ofc_vector", method="POST",
                path="/bridge/ofc_vector/cart.create", body=b"") == (
        "sha256=9369bc04e7e7a12d870d1e1466f3e6aa684879d19b04f1e99cfc2c9cbe4c13d4")
