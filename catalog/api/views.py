from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets

from bridges.access.permissions import StorefrontKey, is_storefront
from catalog.api.filters import ProductFilter
from catalog.api.serializers import ProductSerializer
from catalog.models import Product
from catalog.selectors import contract_tiers_prefetch, product_queryset
from customers.selectors import company_for_pricing
from orderflow.api.pagination import LimitOffsetPage
from orderflow.principals import principal_from_request

COMPANY_PARAM = OpenApiParameter(
    "company", str, description="Staff only: show this company's contract prices (public id "
    "or code).",
)


@extend_schema_view(
    list=extend_schema(summary="List products", parameters=[COMPANY_PARAM]),
    retrieve=extend_schema(summary="Get a product", parameters=[COMPANY_PARAM]),
)
class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """The catalog, with the principal's contract price on every product.

    Storefront keys (publishable or secret) see active products; staff see all.
    """

    permission_classes = [StorefrontKey]
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    pagination_class = LimitOffsetPage
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    ordering_fields = ["sku", "name", "created_at", "updated_at"]
    ordering = ["sku"]
    queryset = Product.objects.none()  # for permissions and the schema; see get_queryset

    def get_company(self):
        if not hasattr(self, "_company"):
            self._company = company_for_pricing(
                principal=principal_from_request(self.request),
                requested=self.request.query_params.get("company"),
            )
        return self._company

    def get_queryset(self):
        qs = product_queryset(active_only=is_storefront(self.request))
        prefetch = contract_tiers_prefetch(self.get_company())
        if prefetch is not None:
            qs = qs.prefetch_related(prefetch)
        return qs

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "company": self.get_company()}
