"""Every state change of the bridges app: credentials, webhooks, scheduled exports."""

from bridges.services.credentials import (  # noqa: F401
    api_key_create,
    api_key_rename,
    api_key_revoke,
    bridge_records_prune,
    connection_create,
    connection_rotate_secret,
    connection_update,
    connection_valid_secrets,
    idempotency_keys_prune,
)
from bridges.services.exports import (  # noqa: F401,E402
    export_run,
    export_runs_retry_due,
    export_schedule_create,
    export_schedule_delete,
    export_schedule_run_now,
    export_schedule_update,
)
