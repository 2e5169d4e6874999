from django.urls import path

from bridges.api import views

app_name = "bridges"

urlpatterns = [
    path("shopper-tokens", views.ShopperTokenApi.as_view(), name="shopper-token-create"),
]
