from django.urls import path

from recovery.api import views

app_name = "recovery"

# Included before carts.api's: "carts/recover" would otherwise be read as a cart id.
urlpatterns = [
    path("carts/recover", views.CartRecoverApi.as_view(), name="cart-recover"),
    path("carts/<str:cart_id>/email", views.CartEmailApi.as_view(), name="cart-email"),
]
