from django.urls import path

from fulfillment.api import views

app_name = "fulfillment"

shipment = "shipments/<str:shipment_id>"
ret = "returns/<str:return_id>"

urlpatterns = [
    path("orders/<str:order_id>/shipments", views.OrderShipmentsApi.as_view(),
         name="order-shipments"),
    path(shipment, views.ShipmentDetailApi.as_view(), name="shipment-detail"),
    path(f"{shipment}/ship", views.ShipmentShipApi.as_view(), name="shipment-ship"),
    path(f"{shipment}/deliver", views.ShipmentDeliverApi.as_view(), name="shipment-deliver"),
    path(f"{shipment}/cancel", views.ShipmentCancelApi.as_view(), name="shipment-cancel"),
    path("orders/<str:order_id>/returns", views.OrderReturnsApi.as_view(),
         name="order-returns"),
    path("returns", views.ReturnListApi.as_view(), name="return-list"),
    path(ret, views.ReturnDetailApi.as_view(), name="return-detail"),
    path(f"{ret}/authorize", views.ReturnAuthorizeApi.as_view(), name="return-authorize"),
    path(f"{ret}/reject", views.ReturnRejectApi.as_view(), name="return-reject"),
    path(f"{ret}/receive", views.ReturnReceiveApi.as_view(), name="return-receive"),
    path(f"{ret}/refund", views.ReturnRefundApi.as_view(), name="return-refund"),
    path(f"{ret}/close", views.ReturnCloseApi.as_view(), name="return-close"),
]
