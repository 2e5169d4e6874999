"""Quote endpoints: input serializer → permission → selector or service → output.

Buyers (secret key + shopper token of a company customer) ask for quotes and accept, decline
or send back the quotes sent to them; staff build, submit, send, withdraw and convert.
Another company's request or quote answers 404.
"""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.access.idempotency import run_idempotent
from carts.selectors import cart_get
from customers.models import Customer
from customers.selectors import company_get
from orderflow.api.pagination import CursorPage
from orderflow.api.schema import IDEMPOTENCY
from orderflow.errors import NotFound, ValidationFailed
from orderflow.principals import principal_from_request
from quotes import services
from quotes.api import serializers as s
from quotes.api.filters import QuoteFilter, QuoteRequestFilter
from quotes.api.permissions import Buyer, BuyerOrStaffReader, StaffQuoteManager
from quotes.models import Quote, QuoteRequest
from quotes.selectors import (
    level_names,
    quote_get,
    quote_queryset,
    quote_request_get,
    quote_request_queryset,
)


def validated(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _is_buyer(principal) -> bool:
    return principal.api_key is not None or principal.connection is not None


def shown(quote: Quote, *, buyer: bool, names: dict[int, str]) -> Quote:
    """Prepare ``quote`` (fetched ``with_details``) for ``QuoteSerializer``: the version the
    caller sees — a buyer the latest version that was sent — its approval levels with their
    decisions, and the versions the caller may read."""
    versions = list(quote.versions.all())
    if buyer:
        versions = [v for v in versions if v.sent_at is not None]
        version = versions[-1] if versions else quote.current
    else:
        version = quote.current
    approvals = [a for a in quote.approvals.all() if a.version_id == version.pk]
    reasons = version.approval_reasons or []
    levels = []
    for level in version.approval_levels or []:
        decisions = [a for a in approvals if a.level == level]
        if decisions:
            state = decisions[-1].decision
        elif quote.awaiting_level == level and version.pk == quote.current_id:
            state = "pending"
        else:
            state = "waiting"
        levels.append({"level": level, "name": names.get(level, f"Level {level}"),
                       "status": state, "decisions": decisions,
                       "reasons": [r["detail"] for r in reasons if r["level"] == level]})
    quote.shown, quote.shown_levels, quote.shown_versions = version, levels, versions
    return quote


def quote_response(request, quote_id: str, *, status_code=status.HTTP_200_OK,
                   serializer=s.QuoteSerializer) -> Response:
    principal = principal_from_request(request)
    quote = quote_get(principal=principal, public_id=quote_id, with_details=True)
    data = serializer(shown(quote, buyer=_is_buyer(principal), names=level_names())).data
    return Response(data, status=status_code)


class QuotePage(CursorPage):
    ordering = ("-created_at", "-id")


# --- quote requests --------------------------------------------------------------------------

class QuoteRequestListApi(ListAPIView):
    """A buyer's company's quote requests (staff: every request), newest first; ``POST``
    asks for a quote."""

    permission_classes = [BuyerOrStaffReader]
    serializer_class = s.QuoteRequestSerializer
    queryset = QuoteRequest.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = QuoteRequestFilter
    pagination_class = QuotePage

    def get_queryset(self):
        return quote_request_queryset(principal=principal_from_request(self.request))

    @extend_schema(summary="List quote requests")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Ask for a quote", request=s.QuoteRequestInput,
                   parameters=[IDEMPOTENCY], responses={
                       201: s.QuoteRequestSerializer,
                       404: OpenApiResponse(description="No such cart for this shopper.")})
    def post(self, request):
        """Lines by sku and quantity (base units) with an optional target unit price, or
        ``cart_id`` to copy a cart's lines; notes and a requested delivery date. The shopper
        must belong to a company. Staff are e-mailed; ``quote.requested`` goes out."""
        principal = principal_from_request(request)
        data = validated(s.QuoteRequestInput, request)

        def work():
            if not _is_buyer(principal) or principal.customer is None:
                raise ValidationFailed("Quote requests come from a buyer: a secret key with a "
                                       "shopper token (staff enter them in the admin).",
                                       code="shopper_token_required")
            cart = None
            if data.get("cart_id"):
                cart = cart_get(principal=principal, public_id=data["cart_id"])
            created = services.quote_request_create(
                channel=principal.channel, company=principal.customer.company,
                customer=principal.customer, api_key=principal.api_key, cart=cart,
                lines=data.get("lines") or [], notes=data.get("notes", ""),
                requested_delivery_date=data.get("requested_delivery_date"),
                actor=principal.actor)
            fresh = quote_request_get(principal=principal, public_id=created.public_id)
            return Response(s.QuoteRequestSerializer(fresh).data,
                            status=status.HTTP_201_CREATED)

        return run_idempotent(request, principal, work)


class QuoteRequestDetailApi(APIView):
    permission_classes = [BuyerOrStaffReader]
    queryset = QuoteRequest.objects.none()

    @extend_schema(summary="Get a quote request", responses={200: s.QuoteRequestSerializer})
    def get(self, request, request_id):
        found = quote_request_get(principal=principal_from_request(request),
                                  public_id=request_id)
        return Response(s.QuoteRequestSerializer(found).data)


# --- quotes ------------------------------------------------------------------------------------

def _lines(data) -> list[services.LineInput] | None:
    if "lines" not in data:
        return None
    return [services.LineInput(sku=line["sku"], quantity=line["quantity"],
                               unit_price=line.get("unit_price"),
                               discount_percent=line.get("discount_percent"),
                               unit_cost=line.get("unit_cost"), notes=line.get("notes", ""))
            for line in data["lines"]]


class QuoteListApi(ListAPIView):
    """The buyer's company's quotes once sent (staff: every quote), newest first; staff
    ``POST`` a new draft."""

    permission_classes = [BuyerOrStaffReader]
    serializer_class = s.QuoteSerializer
    queryset = Quote.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = QuoteFilter
    pagination_class = QuotePage

    def get_permissions(self):
        if self.request.method == "POST":
            return [StaffQuoteManager()]
        return super().get_permissions()

    def get_queryset(self):
        return quote_queryset(principal=principal_from_request(self.request), with_details=True)

    @extend_schema(summary="List quotes")
    def get(self, request, *args, **kwargs):
        principal = principal_from_request(request)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        names = level_names()
        quotes = [shown(q, buyer=_is_buyer(principal), names=names) for q in page]
        return self.get_paginated_response(s.QuoteSerializer(quotes, many=True).data)

    @extend_schema(summary="Create a quote (staff)", request=s.QuoteCreateInput,
                   parameters=[IDEMPOTENCY], responses={
                       201: s.QuoteSerializer,
                       404: OpenApiResponse(description="No such quote request or company.")})
    def post(self, request):
        """A draft from ``request_id`` (its lines unless ``lines`` are given), or from
        ``company`` + ``lines`` (each ``sku``, ``quantity`` and ``unit_price`` or
        ``discount_percent`` off the buyer's price; neither: that price)."""
        principal = principal_from_request(request)
        data = validated(s.QuoteCreateInput, request)

        def work():
            quote_request = company = customer = None
            if data.get("request_id"):
                quote_request = quote_request_get(principal=principal,
                                                  public_id=data["request_id"])
            else:
                company = company_get(key=data["company"])
                if data.get("customer_id"):
                    customer = Customer.objects.filter(public_id=data["customer_id"],
                                                       company=company).first()
                    if customer is None:
                        raise NotFound(f"No customer {data['customer_id']} at {company.code}.")
            quote = services.quote_create(
                actor=principal.actor, author=principal.user, request=quote_request,
                company=company, customer=customer, lines=_lines(data),
                valid_until=data.get("valid_until"), terms=data.get("terms", ""),
                notes=data.get("notes", ""), shipping_total=data.get("shipping_total"))
            return quote_response(request, quote.public_id, status_code=status.HTTP_201_CREATED)

        return run_idempotent(request, principal, work)


class QuoteDetailApi(APIView):
    permission_classes = [BuyerOrStaffReader]
    queryset = Quote.objects.none()

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [StaffQuoteManager()]
        return super().get_permissions()

    @extend_schema(summary="Get a quote", responses={200: s.QuoteSerializer})
    def get(self, request, quote_id):
        """The latest version (a buyer: the latest sent), its approval levels with each
        decision, the versions, and ``order_id`` once converted."""
        return quote_response(request, quote_id)

    @extend_schema(summary="Edit a quote (staff)", request=s.QuoteEditInput,
                   responses={200: s.QuoteSerializer})
    def patch(self, request, quote_id):
        """A draft never submitted is edited in place; a quote that was submitted or sent
        gets the next version (back to ``draft``)."""
        principal = principal_from_request(request)
        data = validated(s.QuoteEditInput, request)
        quote = quote_get(principal=principal, public_id=quote_id)
        kwargs = {"valid_until": data["valid_until"]} if "valid_until" in data else {}
        services.quote_revise(quote=quote, actor=principal.actor, user=principal.user,
                              lines=_lines(data), terms=data.get("terms"),
                              notes=data.get("notes"),
                              shipping_total=data.get("shipping_total"), **kwargs)
        return quote_response(request, quote_id)


class QuoteVersionsApi(APIView):
    permission_classes = [BuyerOrStaffReader]
    queryset = Quote.objects.none()

    @extend_schema(summary="List a quote's versions",
                   responses={200: s.QuoteVersionSerializer(many=True)})
    def get(self, request, quote_id):
        """Every version with its lines, oldest first (a buyer: the versions sent)."""
        principal = principal_from_request(request)
        quote = quote_get(principal=principal, public_id=quote_id, with_details=True)
        versions = shown(quote, buyer=_is_buyer(principal), names={}).shown_versions
        return Response(s.QuoteVersionSerializer(versions, many=True).data)


class StaffQuoteActionApi(APIView):
    permission_classes = [StaffQuoteManager]
    queryset = Quote.objects.none()

    def quote(self, request, quote_id):
        return quote_get(principal=principal_from_request(request), public_id=quote_id)


class QuoteSubmitApi(StaffQuoteActionApi):
    @extend_schema(summary="Submit a draft for approval", request=None,
                   responses={200: s.SubmitAnswerSerializer})
    def post(self, request, quote_id):
        """``pending_approval`` at the levels of the matching rules (``levels_required``),
        or ``approved`` at once when none matches."""
        services.quote_submit(quote=self.quote(request, quote_id),
                              actor=principal_from_request(request).actor)
        return quote_response(request, quote_id, serializer=s.SubmitAnswerSerializer)


class QuoteSendApi(StaffQuoteActionApi):
    @extend_schema(summary="Send an approved quote to the buyer", request=None,
                   responses={200: s.QuoteSerializer})
    def post(self, request, quote_id):
        services.quote_send(quote=self.quote(request, quote_id),
                            actor=principal_from_request(request).actor)
        return quote_response(request, quote_id)


class QuoteWithdrawApi(StaffQuoteActionApi):
    @extend_schema(summary="Withdraw a quote", request=s.QuoteWithdrawInput,
                   responses={200: s.QuoteSerializer})
    def post(self, request, quote_id):
        data = validated(s.QuoteWithdrawInput, request)
        services.quote_withdraw(quote=self.quote(request, quote_id),
                                actor=principal_from_request(request).actor,
                                reason=data.get("reason", ""))
        return quote_response(request, quote_id)


class QuoteConvertApi(StaffQuoteActionApi):
    @extend_schema(summary="Retry the conversion of an accepted quote", request=None,
                   responses={200: s.QuoteSerializer})
    def post(self, request, quote_id):
        """After an ``over_credit_limit`` (or short stock) left it ``accepted``."""
        services.quote_convert(quote=self.quote(request, quote_id),
                               actor=principal_from_request(request).actor)
        return quote_response(request, quote_id)


class BuyerQuoteActionApi(APIView):
    permission_classes = [Buyer]
    queryset = Quote.objects.none()


class QuoteAcceptApi(BuyerQuoteActionApi):
    @extend_schema(summary="Accept a quote", request=s.QuoteVersionInput, parameters=[IDEMPOTENCY],
                   responses={200: s.QuoteSerializer})
    def post(self, request, quote_id):
        """Converts it to an order at the quoted prices (``order_id``). Over the company's
        credit limit it stays ``accepted`` with ``conversion_error``
        (``over_credit_limit`` with the limit, what is in use and the shortfall) until staff
        retry. Refused: ``quote_expired``, ``quote_withdrawn``, ``quote_superseded`` (a
        ``version`` that is not the latest)."""
        principal = principal_from_request(request)
        data = validated(s.QuoteVersionInput, request)

        def work():
            quote = quote_get(principal=principal, public_id=quote_id)
            services.quote_accept(quote=quote, actor=principal.actor,
                                  version=data.get("version"))
            return quote_response(request, quote_id)

        return run_idempotent(request, principal, work)


class QuoteDeclineApi(BuyerQuoteActionApi):
    @extend_schema(summary="Decline a quote", request=s.QuoteReasonInput,
                   responses={200: s.QuoteSerializer})
    def post(self, request, quote_id):
        principal = principal_from_request(request)
        data = validated(s.QuoteReasonInput, request)
        services.quote_decline(quote=quote_get(principal=principal, public_id=quote_id),
                               actor=principal.actor, reason=data["reason"],
                               version=data.get("version"))
        return quote_response(request, quote_id)


class QuoteRequestChangesApi(BuyerQuoteActionApi):
    @extend_schema(summary="Ask for changes to a quote", request=s.QuoteCommentInput,
                   responses={200: s.QuoteSerializer})
    def post(self, request, quote_id):
        principal = principal_from_request(request)
        data = validated(s.QuoteCommentInput, request)
        services.quote_buyer_request_changes(
            quote=quote_get(principal=principal, public_id=quote_id), actor=principal.actor,
            comment=data["comment"], version=data.get("version"))
        return quote_response(request, quote_id)
