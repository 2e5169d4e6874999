"""OpenAPI description of the storefront credentials."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "bridges.access.authentication.ApiKeyAuthentication"
    name = "storefrontKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "of_{test|live}_{pub|sec}_…",
            "description": "A storefront API key. Publishable keys (`of_test_pub_…`) read the "
                           "catalog and use anonymous carts; secret keys (`of_test_sec_…`) also "
                           "check out, read orders and issue shopper tokens.",
        }
