from django.urls import path

from orders.api import views

app_name = "orders"

urlpatterns = [
    path("orders", views.OrderListApi.as_view(), name="order-list"),
    path("orders/<str:order_id>", views.OrderDetailApi.as_view(), name="order-detail"),
]
