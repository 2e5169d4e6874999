from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from analytics.views import dashboard_view as analytics_dashboard
from orderflow import views

api_v1 = [
    path("", include("exports.urls")),  # before the apps': "orders/export" is no order id
    path("", include("catalog.api.urls")),
    path("", include("recovery.api.urls")),  # before carts': "carts/recover" is no cart id
    path("", include("carts.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("quotes.api.urls")),
    path("", include("fulfillment.api.urls")),
    path("", include("bridges.access.api.urls")),
    path("", include("bridges.webhooks.api.urls")),
    path("", include("imports.api.urls")),
    path("", include("analytics.api.urls")),
]

urlpatterns = [
    # OrderFlow has no storefront of its own: its front page is the back office.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/analytics/", analytics_dashboard, name="analytics-dashboard"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("bridge/", include("bridges.hmac.urls")),
    path("approvals/", include("quotes.urls")),
    path("recover/", include("recovery.urls")),
    # Unknown API paths answer problem+json even with DEBUG on, never an HTML page.
    re_path(r"^(api|bridge)/", views.api_not_found),
]

handler400 = "orderflow.views.handler400"
handler403 = "orderflow.views.handler403"
handler404 = "orderflow.views.handler404"
handler500 = "orderflow.views.handler500"

admin.site.site_header = "OrderFlow back office"
admin.site.site_title = "OrderFlow"
admin.site.index_title = "Operations"
