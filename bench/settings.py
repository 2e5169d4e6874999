"""Settings for the benchmark server: the application's settings plus the bare-view floor."""

from orderflow.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The load generator sends far more than a storefront's rate from one key: the throttles
# still count every request (their cost is measured), but never refuse one.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {  # noqa: F405
    **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],  # noqa: F405
    "api_key": "100000000/day", "basic": "100000000/day"}}
