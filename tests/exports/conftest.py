from tests.imports.conftest import eager, reference_data  # noqa: F401 - fixtures
