"""Settings for the benchmark server: the application's settings plus the bare-view floor."""

from orderflow.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
