"""How a cart is shown, and what a cart request may carry, for every client: the REST API
(carts.api) and the bridge (bridges.hmac) both answer with ``cart_data`` and
``shipping_estimates_data`` and read their bodies with the inputs below."""

from __future__ import annotations

from copy import copy

from rest_framework import serializers

from carts.selectors import cart_company, cart_get, cart_lines, cart_problems, price_cart
from fulfillment.selectors import shipping_method_list
from orderflow.api.fields import MetadataField
from orderflow.money import format_amount
from orders.presenters import AddressSerializer, DefaultsField

# --- inputs ----------------------------------------------------------------------------------

class CartCreateInput(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    metadata = MetadataField()
    shipping_address = AddressSerializer(required=False, allow_null=True)
    billing_address = AddressSerializer(required=False, allow_null=True,
                                        help_text="Defaults to the shipping address.")
    shipping_method = serializers.SlugField(
        max_length=40, required=False, allow_blank=True,
        help_text="A shipping method code (see …/shipping-estimates), as in "
                  "POST …/shipping-method.")


class CartLineAddInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, required=False,
                                        help_text="In the product's base unit.")
    order_uom = serializers.CharField(max_length=16, required=False,
                                      help_text="An alternate unit such as CS12.")
    order_quantity = serializers.IntegerField(min_value=1, required=False)
    metadata = MetadataField()

    def validate(self, attrs):
        by_unit = "order_uom" in attrs or "order_quantity" in attrs
        if by_unit and not ("order_uom" in attrs and "order_quantity" in attrs):
            raise serializers.ValidationError(
                "Send order_uom and order_quantity together.", code="invalid")
        if by_unit == ("quantity" in attrs):
            raise serializers.ValidationError(
                "Send either quantity, or order_uom with order_quantity.", code="invalid")
        return attrs


class CartLineUpdateInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, required=False)
    order_quantity = serializers.IntegerField(min_value=1, required=False)
    metadata = MetadataField()

    def validate(self, attrs):
        if "quantity" in attrs and "order_quantity" in attrs:
            raise serializers.ValidationError("Send quantity or order_quantity, not both.")
        if not attrs:
            raise serializers.ValidationError("Nothing to change.")
        return attrs


class ShippingMethodInput(serializers.Serializer):
    code = serializers.SlugField(max_length=40)


class PaymentInput(serializers.Serializer):
    """Optional at checkout: without it, a company on credit terms pays on ``terms`` and
    another signed-in customer ``cod`` where the channel allows it (see ``defaults`` in the
    answer); a guest must send one."""

    kind = serializers.ChoiceField(choices=["payment_intent", "cod", "terms"])
    reference = serializers.RegexField(
        r"^[A-Za-z0-9_\-]{3,120}$", required=False,
        help_text="The payment provider's id (pi_…) for kind=payment_intent. Never card data.",
    )

    def validate(self, attrs):
        if attrs["kind"] == "payment_intent" and not attrs.get("reference"):
            raise serializers.ValidationError({"reference": ["Required for payment_intent."]})
        if attrs["kind"] != "payment_intent":
            attrs.pop("reference", None)
        return attrs



# --- the cart --------------------------------------------------------------------------------

class ShippingMethodRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CartProblemSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[
        "cart_empty", "not_priced", "price_changed", "insufficient_stock", "product_inactive",
        "shipping_method_missing", "shipping_method_unavailable", "address_missing"])
    detail = serializers.CharField()
    sku = serializers.CharField(required=False)
    line_id = serializers.CharField(required=False)
    requested = serializers.IntegerField(required=False)
    available = serializers.IntegerField(required=False)
    priced = serializers.CharField(required=False)
    current = serializers.CharField(required=False)


_DATETIME = serializers.DateTimeField()  # DRF's datetime format, shared: it holds no state


def _money(value, currency, priced=True):
    return format_amount(value, currency) if priced and value is not None else None


class CartLineSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    quantity = serializers.IntegerField(help_text="In base units.")
    base_uom = serializers.CharField(source="product.base_uom")
    order_uom = serializers.CharField(allow_null=True)
    order_quantity = serializers.IntegerField(allow_null=True)
    unit_price = serializers.CharField(allow_null=True)
    price_source = serializers.CharField(allow_null=True)
    line_subtotal = serializers.CharField(allow_null=True)
    tax_rate = serializers.CharField(allow_null=True)
    tax_amount = serializers.CharField(allow_null=True)
    line_total = serializers.CharField(allow_null=True)
    metadata = serializers.DictField()

    def to_representation(self, line):
        cart = self.context["cart"]
        priced = line.unit_price is not None
        return {
            "id": line.public_id,
            "sku": line.product.sku,
            "name": line.product.name,
            "quantity": line.quantity,
            "base_uom": line.product.base_uom,
            "order_uom": line.order_uom or None,
            "order_quantity": line.order_quantity,
            "unit_price": _money(line.unit_price, cart.currency, priced),
            "price_source": line.price_source or None,
            "line_subtotal": _money(line.line_subtotal, cart.currency, priced),
            "tax_rate": str(line.tax_rate) if priced else None,
            "tax_amount": _money(line.tax_amount, cart.currency, priced),
            "line_total": _money(line.line_total, cart.currency, priced),
            "metadata": line.metadata,
        }


class CartSerializer(serializers.Serializer):
    """A cart with its lines, totals (null until priced) and the problems blocking checkout."""

    id = serializers.CharField()
    status = serializers.CharField()
    channel = serializers.CharField()
    customer_id = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    lines = CartLineSerializer(many=True)
    shipping_method = ShippingMethodRefSerializer(allow_null=True)
    shipping_address = AddressSerializer(allow_null=True)
    billing_address = AddressSerializer(allow_null=True)
    subtotal = serializers.CharField(allow_null=True)
    tax_total = serializers.CharField(allow_null=True)
    shipping_total = serializers.CharField(allow_null=True)
    total = serializers.CharField(allow_null=True)
    priced_at = serializers.DateTimeField(allow_null=True)
    is_priced = serializers.BooleanField()
    problems = CartProblemSerializer(many=True)
    defaults = DefaultsField(help_text="What pricing took because the cart lacked it: the "
                                       "channel's shipping method, the customer's addresses.")
    metadata = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, cart):
        lines, problems = self.context["lines"], self.context["problems"]
        line_repr = CartLineSerializer(context={"cart": cart}).to_representation
        priced = cart.priced_at is not None
        method = cart.shipping_method
        return {
            "id": cart.public_id,
            "status": cart.status,
            "channel": cart.channel.code,
            "customer_id": cart.customer.public_id if cart.customer_id else None,
            "email": cart.email or None,
            "currency": cart.currency,
            "lines": [line_repr(line) for line in lines],
            "shipping_method": {"code": method.code, "name": method.name} if method else None,
            "shipping_address": cart.shipping_address,
            "billing_address": cart.billing_address,
            "subtotal": _money(cart.subtotal, cart.currency, priced),
            "tax_total": _money(cart.tax_total, cart.currency, priced),
            "shipping_total": _money(cart.shipping_total, cart.currency, priced),
            "total": _money(cart.total, cart.currency, priced),
            "priced_at": _DATETIME.to_representation(cart.priced_at)
            if cart.priced_at else None,
            "is_priced": cart.is_priced,
            "problems": problems,
            "defaults": cart.defaults,
            "metadata": cart.metadata,
            "created_at": _DATETIME.to_representation(cart.created_at),
            "updated_at": _DATETIME.to_representation(cart.updated_at),
        }


class ShippingEstimateSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    price = serializers.CharField(allow_null=True,
                                  help_text="Null when the method cannot ship this cart.")
    currency = serializers.CharField()
    estimated_days_min = serializers.IntegerField()
    estimated_days_max = serializers.IntegerField()
    selected = serializers.BooleanField()


# --- answers ---------------------------------------------------------------------------------

def cart_data(principal, cart_id: str | None = None, *, cart=None) -> dict:
    """The cart as every client sees it (REST and bridge). Pass ``cart`` when a service just
    returned it, to skip reading it again."""
    if cart is None:
        cart = cart_get(principal=principal, public_id=cart_id)
    lines = cart_lines(cart=cart)
    problems = cart_problems(cart=cart, lines=lines)
    return CartSerializer(cart, context={"lines": lines, "problems": problems}).data


def shipping_estimates_data(principal, cart_id: str) -> list[dict]:
    """The shipping methods of the cart's channel and destination, priced for this cart."""
    cart = cart_get(principal=principal, public_id=cart_id)
    lines = cart_lines(cart=cart, for_pricing=True)
    country = (cart.shipping_address or {}).get("country")
    estimates = []
    for method in shipping_method_list(channel=cart.channel, country=country):
        priced = price_cart(cart=_with_method(cart, method), lines=lines,
                            company=cart_company(cart))
        estimates.append({
            "code": method.code, "name": method.name,
            "price": format_amount(priced.shipping_total, cart.currency)
            if priced.shipping_available else None,
            "currency": cart.currency,
            "estimated_days_min": method.estimated_days_min,
            "estimated_days_max": method.estimated_days_max,
            "selected": method.pk == cart.shipping_method_id,
        })
    return estimates


def _with_method(cart, method):
    """A copy of ``cart`` with ``method`` chosen, for pricing a what-if."""
    candidate = copy(cart)
    candidate.shipping_method = method
    return candidate
