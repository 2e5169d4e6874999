"""Wired in ``orderflow/urls.py`` before the apps' routes: ``orders/export`` and
``products/export`` are not an order or product id."""

from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("orders/export", views.OrderExportApi.as_view(), name="order-export"),
    path("products/export", views.ProductExportApi.as_view(), name="product-export"),
    path("customers/export", views.CustomerExportApi.as_view(), name="customer-export"),
    path("shipments/export", views.ShipmentExportApi.as_view(), name="shipment-export"),
]
