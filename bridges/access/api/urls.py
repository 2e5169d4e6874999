from django.urls import path

from bridges.access.api import views

app_name = "access"

urlpatterns = [
    path("shopper-tokens", views.ShopperTokenApi.as_view(), name="shopper-token-create"),
]
