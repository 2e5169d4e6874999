"""The signed HMAC bridge, ``POST /bridge/{client_id}/{action}``: the signature
(``signing``), the replay guard (``replay``), the endpoint (``views``, ``urls``), its actions
(``actions``, over the carts and orders services) and a reference client (``client``)."""
