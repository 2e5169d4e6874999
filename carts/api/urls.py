from django.urls import path

from carts.api import views

app_name = "carts"

urlpatterns = [
    path("carts", views.CartCreateApi.as_view(), name="cart-create"),
    path("carts/<str:cart_id>", views.CartDetailApi.as_view(), name="cart-detail"),
    path("carts/<str:cart_id>/lines", views.CartLinesApi.as_view(), name="cart-lines"),
    path("carts/<str:cart_id>/lines/<str:line_id>", views.CartLineApi.as_view(),
         name="cart-line"),
    path("carts/<str:cart_id>/price", views.CartPriceApi.as_view(), name="cart-price"),
    path("carts/<str:cart_id>/addresses", views.CartAddressesApi.as_view(),
         name="cart-addresses"),
    path("carts/<str:cart_id>/shipping-estimates", views.CartShippingEstimatesApi.as_view(),
         name="cart-shipping-estimates"),
    path("carts/<str:cart_id>/shipping-method", views.CartShippingMethodApi.as_view(),
         name="cart-shipping-method"),
    path("checkout", views.CheckoutApi.as_view(), name="checkout"),
]
