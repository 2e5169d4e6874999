from django.urls import path

from bridges.api import views, webhooks

app_name = "bridges"

webhook_endpoint = "webhook-endpoints/<str:endpoint_id>"
webhook_delivery = "webhook-deliveries/<str:delivery_id>"

urlpatterns = [
    path("shopper-tokens", views.ShopperTokenApi.as_view(), name="shopper-token-create"),
    path("webhook-endpoints", webhooks.WebhookEndpointListApi.as_view(),
         name="webhook-endpoint-list"),
    path(webhook_endpoint, webhooks.WebhookEndpointDetailApi.as_view(),
         name="webhook-endpoint-detail"),
    path(f"{webhook_endpoint}/rotate-secret", webhooks.WebhookEndpointRotateSecretApi.as_view(),
         name="webhook-endpoint-rotate-secret"),
    path(f"{webhook_endpoint}/test", webhooks.WebhookEndpointTestApi.as_view(),
         name="webhook-endpoint-test"),
    path(f"{webhook_endpoint}/deliveries", webhooks.WebhookEndpointDeliveriesApi.as_view(),
         name="webhook-endpoint-deliveries"),
    path(webhook_delivery, webhooks.WebhookDeliveryDetailApi.as_view(),
         name="webhook-delivery-detail"),
    path(f"{webhook_delivery}/replay", webhooks.WebhookDeliveryReplayApi.as_view(),
         name="webhook-delivery-replay"),
    path("webhook-event-types", webhooks.WebhookEventTypesApi.as_view(),
         name="webhook-event-types"),
]
