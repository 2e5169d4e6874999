"""Outbound webhooks over REST: endpoints, their deliveries, test events and replay.

Staff only (session or HTTP Basic) holding ``bridges.webhooks_manage``; storefront keys and
shopper tokens are refused. Views are thin: input serializer → service → output serializer.
Every input problem with an endpoint answers ``invalid_webhook_endpoint`` with field errors,
whether the type check or the service's rules (https, private addresses, …) refused it.

An endpoint is never erased through the API: DELETE switches it off and keeps it, with its
delivery log and dead letters, so they stay searchable and replayable.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import django_filters
from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.access.idempotency import run_idempotent
from bridges.access.permissions import is_storefront
from bridges.constants import AckRule, AttemptOutcome, DeliveryStatus, Ordering
from bridges.events import EVENT_TYPES
from bridges.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from bridges.webhooks.services import (
    EVENT_PATTERN,
    TEST_EVENT,
    webhook_body,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
)
from orderflow.api.errors import field_errors
from orderflow.api.filters import StrictBooleanFilter
from orderflow.api.pagination import CursorPage
from orderflow.api.schema import IDEMPOTENCY
from orderflow.errors import NotFound, ValidationFailed
from orderflow.models import ActorSource, Channel
from orderflow.principals import principal_from_request
from orderflow.timeline import Actor

INVALID = "invalid_webhook_endpoint"
OPEN_STATUSES = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
ENDPOINT_ID = re.compile(r"^whe_[0-9a-z]{26}$")
DELIVERY_ID = re.compile(r"^whd_[0-9a-z]{26}$")


class WebhooksManager(BasePermission):
    """A staff user (session or HTTP Basic) with webhooks.manage; never a storefront key."""

    message = "Managing webhooks needs a staff user with the webhooks.manage permission."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff
                    and not is_storefront(request) and user.has_perm("bridges.webhooks_manage"))


def staff_actor(request) -> Actor:
    return Actor.staff(request.user, source=ActorSource.API)


def endpoint_queryset():
    """Endpoints with their channels and delivery counts: a fixed number of queries."""
    return (WebhookEndpoint.objects.prefetch_related("channels").annotate(
        pending_count=Count("deliveries", filter=Q(deliveries__status__in=OPEN_STATUSES)),
        dead_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DEAD)),
    ))


def endpoint_get(endpoint_id: str, queryset=None) -> WebhookEndpoint:
    # Anything that is not shaped like an endpoint id cannot name one (and a NUL byte must not
    # reach PostgreSQL).
    endpoint = None
    if ENDPOINT_ID.match(endpoint_id):
        endpoint = (queryset if queryset is not None else WebhookEndpoint.objects).filter(
            public_id=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.", code="webhook_endpoint_not_found")
    return endpoint


def delivery_get(delivery_id: str, *, with_attempts: bool = False) -> WebhookDelivery:
    delivery = None
    if DELIVERY_ID.match(delivery_id):
        queryset = WebhookDelivery.objects.select_related("endpoint", "event")
        if with_attempts:
            queryset = queryset.prefetch_related(
                Prefetch("attempt_log", WebhookAttempt.objects.order_by("number")))
        delivery = queryset.filter(public_id=delivery_id).first()
    if delivery is None:
        raise NotFound("No such webhook delivery.", code="webhook_delivery_not_found")
    return delivery


# --- serializers -------------------------------------------------------------------------------

class WebhookEndpointInput(serializers.Serializer):
    """The writable fields; anything else in the body is ignored."""

    url = serializers.URLField(
        max_length=500,
        help_text="https (http only for hosts in ORDERFLOW_WEBHOOK_ALLOW_PRIVATE or with DEBUG). "
                  "Hosts resolving to private, loopback or link-local addresses are refused.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.RegexField(EVENT_PATTERN, max_length=64, error_messages={
            "invalid": "Not an event type or wildcard (order.created, order.*, *)."}),
        min_length=1, max_length=100,
        help_text='Exact types ("order.created"), wildcards ("order.*") or "*"; '
                  "see GET /api/v1/webhook-event-types.")
    channels = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=50,
        help_text="Channel codes; only events of these channels are sent. Empty = every "
                  "channel.")
    is_active = serializers.BooleanField(required=False)
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=30, required=False,
                                               help_text="Default 10.")
    max_attempts = serializers.IntegerField(min_value=1, max_value=20, required=False,
                                            help_text="Default 8; then the delivery is dead.")
    ordering = serializers.ChoiceField(choices=Ordering.choices, required=False,
                                       help_text="Default parallel.")
    retry_client_errors = serializers.BooleanField(
        required=False, help_text="Retry 4xx answers too (by default a 4xx other than "
                                  "408/409/425/429 goes straight to dead).")
    ack_rule = serializers.ChoiceField(
        choices=AckRule.choices, required=False, allow_blank=True,
        help_text='Besides a 2xx: "" any 2xx; "contains" the body contains ack_value; '
                  '"regex" the body matches ack_value; "json_equals" the JSON field '
                  "ack_field (dotted path) equals ack_value.")
    ack_field = serializers.CharField(max_length=120, required=False, allow_blank=True)
    ack_value = serializers.CharField(max_length=500, required=False, allow_blank=True)
    custom_headers = serializers.DictField(
        child=serializers.CharField(max_length=1000, allow_blank=True), required=False,
        help_text="Extra request headers (at most 20); webhook-*, content-type, user-agent "
                  "and the like cannot be set.")

    def validate_event_types(self, value):
        return list(dict.fromkeys(value))

    def validate_channels(self, codes):
        codes = list(dict.fromkeys(codes))
        channels = list(Channel.objects.filter(code__in=codes)) if codes else []
        unknown = set(codes) - {c.code for c in channels}
        if unknown:
            raise serializers.ValidationError(
                f"No such channel: {', '.join(sorted(unknown))}.")
        return channels


def endpoint_input(request, *, partial: bool) -> dict:
    serializer = WebhookEndpointInput(data=request.data, partial=partial)
    if not serializer.is_valid():
        raise ValidationFailed("The webhook endpoint has invalid fields; see errors.",
                               code=INVALID, errors=field_errors(serializer.errors))
    return dict(serializer.validated_data)


@extend_schema_field({"type": "array", "items": {"type": "string"},
                      "description": "Channel codes; empty = every channel."})
class ChannelCodes(serializers.Field):
    def to_representation(self, value):
        return [channel.code for channel in value.all()]


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", help_text="whe_…")
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    channels = ChannelCodes()
    is_active = serializers.BooleanField()
    disabled_reason = serializers.CharField(
        help_text="Why OrderFlow switched it off (410 Gone, failing for days); empty otherwise.")
    failing_since = serializers.DateTimeField(
        allow_null=True, help_text="Start of the current streak of failed attempts.")
    disabled_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was switched off (by OrderFlow or staff); null "
                                   "while it is active.")
    timeout_seconds = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    ordering = serializers.ChoiceField(choices=Ordering.choices)
    retry_client_errors = serializers.BooleanField()
    ack_rule = serializers.ChoiceField(choices=AckRule.choices, allow_blank=True)
    ack_field = serializers.CharField()
    ack_value = serializers.CharField()
    custom_headers = serializers.DictField(child=serializers.CharField())
    previous_secret_valid_until = serializers.SerializerMethodField(
        help_text="While set, messages also carry a signature with the previous secret.")
    pending_deliveries = serializers.IntegerField(source="pending_count",
                                                  help_text="Waiting or being sent.")
    dead_deliveries = serializers.IntegerField(source="dead_count",
                                               help_text="Gave up; replay them.")
    last_sequence = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_previous_secret_valid_until(self, obj):
        until = obj.previous_secret_expires_at
        if obj.previous_secret and until and until > timezone.now():
            return serializers.DateTimeField().to_representation(until)
        return None


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The signing secret (whsec_…) — shown only in this answer; store it now. "
                  "null in a replayed answer (Idempotent-Replayed: true): rotate the secret "
                  "to get a new one.")


class WebhookRotateSecretInput(serializers.Serializer):
    grace_hours = serializers.IntegerField(
        min_value=0, max_value=24 * 30, required=False,
        help_text="How long the previous secret keeps signing too (default 24).")


class WebhookAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    url = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=AttemptOutcome.choices)
    error = serializers.CharField()
    response_headers = serializers.DictField(child=serializers.CharField())
    response_body = serializers.CharField(help_text="Truncated to 4 KiB.")
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", help_text="whd_…")
    endpoint_id = serializers.CharField(source="endpoint.public_id")
    event_id = serializers.CharField(source="event.public_id",
                                     help_text="The webhook-id header; stable across retries.")
    event_type = serializers.CharField()
    reference = serializers.CharField(help_text="Order (or invoice, cart …) number or id.")
    sequence = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField(help_text="Attempts ever made.")
    series_attempts = serializers.IntegerField(
        help_text="Attempts since it was created or last replayed.")
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    dead_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    payload = serializers.SerializerMethodField(
        help_text="The body every attempt sends: {id, type, created_at, sequence, data}.")
    attempt_log = WebhookAttemptSerializer(many=True,
                                           help_text="Every HTTP attempt, oldest first.")

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_payload(self, obj):
        return json.loads(webhook_body(obj))


class WebhookEventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()


def endpoint_response(endpoint_id: str, *, status_code=status.HTTP_200_OK, secret=False):
    endpoint = endpoint_get(endpoint_id, endpoint_queryset())
    data = WebhookEndpointSerializer(endpoint).data
    if secret:
        data = {**data, "secret": endpoint.secret}
    return Response(data, status=status_code)


def delivery_response(delivery_id: str, *, status_code=status.HTTP_200_OK):
    delivery = delivery_get(delivery_id, with_attempts=True)
    return Response(WebhookDeliveryDetailSerializer(delivery).data, status=status_code)


# --- views -------------------------------------------------------------------------------------

class WebhooksApi(APIView):
    permission_classes = [WebhooksManager]


class WebhookEndpointFilter(django_filters.FilterSet):
    is_active = StrictBooleanFilter()

    class Meta:
        model = WebhookEndpoint
        fields = ["is_active"]


class EndpointCursorPage(CursorPage):
    ordering = ("-created_at", "-id")


class WebhookEndpointListApi(ListAPIView):
    permission_classes = [WebhooksManager]
    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = WebhookEndpointFilter
    pagination_class = EndpointCursorPage

    def get_queryset(self):
        return endpoint_queryset()

    @extend_schema(summary="List webhook endpoints", tags=["webhooks"])
    def get(self, request, *args, **kwargs):
        """Newest first. The signing secret is never listed."""
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a webhook endpoint", tags=["webhooks"], request=WebhookEndpointInput,
        parameters=[IDEMPOTENCY],
        responses={201: WebhookEndpointWithSecretSerializer,
                   400: OpenApiResponse(description="invalid_webhook_endpoint (see errors)")})
    def post(self, request, *args, **kwargs):
        """A receiver of signed events (Standard Webhooks). The answer carries the signing
        secret — the only time the API shows it."""
        data = endpoint_input(request, partial=False)
        issued = {}

        def work():
            endpoint = webhook_endpoint_create(created_by=request.user, **data)
            issued["secret"] = endpoint.secret
            # The idempotency record keeps this answer without the secret.
            response = endpoint_response(endpoint.public_id, status_code=status.HTTP_201_CREATED)
            response.data = {**response.data, "secret": None}
            return response

        response = run_idempotent(request, principal_from_request(request), work)
        if "secret" in issued:
            response.data = {**response.data, "secret": issued["secret"]}
        return response


class WebhookEndpointDetailApi(WebhooksApi):
    @extend_schema(summary="Get a webhook endpoint", tags=["webhooks"],
                   responses={200: WebhookEndpointSerializer})
    def get(self, request, endpoint_id):
        return endpoint_response(endpoint_id)

    @extend_schema(summary="Change a webhook endpoint", tags=["webhooks"],
                   request=WebhookEndpointInput(partial=True),
                   responses={200: WebhookEndpointSerializer,
                              400: OpenApiResponse(description="invalid_webhook_endpoint")})
    def patch(self, request, endpoint_id):
        """Only the fields sent change. ``is_active: true`` switches a disabled endpoint back
        on: its failing streak starts over and the deliveries that waited are sent."""
        endpoint = endpoint_get(endpoint_id)
        data = endpoint_input(request, partial=True)
        webhook_endpoint_update(endpoint=endpoint, actor=staff_actor(request), **data)
        return endpoint_response(endpoint_id)

    @extend_schema(summary="Switch a webhook endpoint off", tags=["webhooks"], request=None,
                   responses={200: WebhookEndpointSerializer})
    def delete(self, request, endpoint_id):
        """The endpoint stops receiving events but is kept, with its delivery log and dead
        letters, so they stay searchable and replayable (the same as PATCH
        ``is_active: false``; PATCH ``is_active: true`` switches it back on)."""
        endpoint = endpoint_get(endpoint_id)
        if endpoint.is_active:
            webhook_endpoint_update(endpoint=endpoint, is_active=False,
                                    actor=staff_actor(request))
        return endpoint_response(endpoint_id)


class WebhookEndpointRotateSecretApi(WebhooksApi):
    @extend_schema(summary="Rotate an endpoint's signing secret", tags=["webhooks"],
                   request=WebhookRotateSecretInput,
                   responses={200: WebhookEndpointWithSecretSerializer})
    def post(self, request, endpoint_id):
        """A new secret, returned once. During the grace period every message carries two
        signatures (new and previous secret), so the receiver can switch at its own pace."""
        endpoint = endpoint_get(endpoint_id)
        serializer = WebhookRotateSecretInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        hours = serializer.validated_data.get("grace_hours")
        webhook_endpoint_rotate_secret(
            endpoint=endpoint, actor=staff_actor(request),
            grace=None if hours is None else timedelta(hours=hours))
        return endpoint_response(endpoint_id, secret=True)


class WebhookEndpointTestApi(WebhooksApi):
    @extend_schema(summary="Send a test event", tags=["webhooks"], request=None,
                   parameters=[IDEMPOTENCY], responses={201: WebhookDeliveryDetailSerializer})
    def post(self, request, endpoint_id):
        """A ``webhook.test`` event to this endpoint only, signed, retried and logged like any
        other. Poll the returned delivery to see the outcome."""
        endpoint = endpoint_get(endpoint_id)

        def work():
            delivery = webhook_endpoint_send_test(endpoint=endpoint, actor=staff_actor(request))
            return delivery_response(delivery.public_id, status_code=status.HTTP_201_CREATED)

        return run_idempotent(request, principal_from_request(request), work)


class WebhookDeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_type = django_filters.CharFilter(max_length=64)
    reference = django_filters.CharFilter(max_length=64,
                                          help_text="Order (or invoice, cart …) number.")
    event_id = django_filters.CharFilter(field_name="event__public_id", max_length=40,
                                         help_text="The webhook-id (evt_…).")

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type", "reference", "event_id"]


class DeliveryCursorPage(CursorPage):
    ordering = ("-sequence",)  # unique per endpoint: stable pages


class WebhookEndpointDeliveriesApi(ListAPIView):
    permission_classes = [WebhooksManager]
    serializer_class = WebhookDeliverySerializer
    queryset = WebhookDelivery.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = WebhookDeliveryFilter
    pagination_class = DeliveryCursorPage

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        endpoint = endpoint_get(self.kwargs["endpoint_id"])
        return (WebhookDelivery.objects.filter(endpoint=endpoint)
                .select_related("endpoint", "event"))

    @extend_schema(summary="List an endpoint's deliveries", tags=["webhooks"])
    def get(self, request, *args, **kwargs):
        """Newest (highest sequence) first; ``status=dead`` lists the dead letters."""
        return super().get(request, *args, **kwargs)


class WebhookDeliveryDetailApi(WebhooksApi):
    @extend_schema(summary="Get a webhook delivery", tags=["webhooks"],
                   responses={200: WebhookDeliveryDetailSerializer})
    def get(self, request, delivery_id):
        """The delivery, the exact payload it sends and every attempt."""
        return delivery_response(delivery_id)


class WebhookDeliveryReplayApi(WebhooksApi):
    @extend_schema(summary="Replay a webhook delivery", tags=["webhooks"], request=None,
                   responses={200: WebhookDeliveryDetailSerializer,
                              409: OpenApiResponse(description="delivery_in_progress")})
    def post(self, request, delivery_id):
        """Send a dead (or delivered) delivery again with the same webhook-id and a fresh
        attempt budget. A delivery still pending or being sent answers 409."""
        delivery = delivery_get(delivery_id)
        webhook_delivery_replay(delivery=delivery, actor=staff_actor(request))
        return delivery_response(delivery_id)


class WebhookEventTypesApi(WebhooksApi):
    @extend_schema(summary="List the webhook event types", tags=["webhooks"],
                   responses={200: WebhookEventTypeSerializer(many=True)})
    def get(self, request):
        """What an endpoint can subscribe to (besides the wildcards ``order.*`` and ``*``)."""
        return Response([{"type": name, "description": text}
                         for name, text in EVENT_TYPES.items() if name != TEST_EVENT])
