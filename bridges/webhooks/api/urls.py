from django.urls import path

from bridges.webhooks.api import views

app_name = "webhooks"

webhook_endpoint = "webhook-endpoints/<str:endpoint_id>"
webhook_delivery = "webhook-deliveries/<str:delivery_id>"

urlpatterns = [
    path("webhook-endpoints", views.WebhookEndpointListApi.as_view(),
         name="webhook-endpoint-list"),
    path(webhook_endpoint, views.WebhookEndpointDetailApi.as_view(),
         name="webhook-endpoint-detail"),
    path(f"{webhook_endpoint}/rotate-secret", views.WebhookEndpointRotateSecretApi.as_view(),
         name="webhook-endpoint-rotate-secret"),
    path(f"{webhook_endpoint}/test", views.WebhookEndpointTestApi.as_view(),
         name="webhook-endpoint-test"),
    path(f"{webhook_endpoint}/deliveries", views.WebhookEndpointDeliveriesApi.as_view(),
         name="webhook-endpoint-deliveries"),
    path(webhook_delivery, views.WebhookDeliveryDetailApi.as_view(),
         name="webhook-delivery-detail"),
    path(f"{webhook_delivery}/replay", views.WebhookDeliveryReplayApi.as_view(),
         name="webhook-delivery-replay"),
    path("webhook-event-types", views.WebhookEventTypesApi.as_view(),
         name="webhook-event-types"),
]
