"""The transaction log: every inbound bridge call and REST write (``middleware``), with
secrets and card data redacted (``redaction``), searchable in the admin (``admin``). Outbound
deliveries and exports write their own entries."""
