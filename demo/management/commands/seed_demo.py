"""Load the demo store idempotently and print its credentials.

Run it as often as you like: rows are matched by natural keys, stock is only set when a product
is first created, and passwords are (re)set to the ones kept in var/demo-credentials.json.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from analytics.services import rebuild as analytics_rebuild
from bridges.access.keys import hash_key
from bridges.access.services import api_key_create, api_key_revoke, connection_create
from bridges.constants import KeyKind, KeyMode
from bridges.models import ApiKey, BridgeScope, InboundConnection
from carts import services as cart_services
from catalog.models import (
    PriceList,
    PriceListEntry,
    Product,
    ProductUnit,
    Supplier,
    TaxClass,
    TaxRate,
)
from customers.constants import PaymentTerms
from customers.models import Address, Company, CompanyApprover, Customer
from fulfillment.constants import RateBasis
from fulfillment.models import ShippingMethod, ShippingRate
from fulfillment.services import shipment_create, shipment_ship
from orderflow.models import Channel
from orderflow.principals import Principal
from orderflow.timeline import Actor
from orders import services as order_services
from orders.constants import CancelReason
from orders.demo import seed_orders_demo
from orders.models import Invoice, Order, OrderEvent
from quotes import services as quote_services
from quotes.constants import QuoteStatus
from quotes.models import QuoteRequest

# --- demo credentials: generated on first seed, kept under var/ (never in the repository) ---


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.json"


def load_credentials() -> dict:
    path = credentials_path()
    if path.exists():
        try:
            return json.loads(path.read_text())
        except ValueError:
            return {}
    return {}


def save_credentials(data: dict) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)


def new_password() -> str:
    return secrets.token_urlsafe(12)


D = Decimal

# sku, name, base unit, list price (JMD), tax class, supplier, stock, case factor, weight g
PRODUCTS = [
    ("COF-BM-250", "Blue Mountain coffee, whole bean 250 g", "EA", "2450.00", "standard",
     "bluemountain", 240, 12, 260),
    ("COF-BM-1K", "Blue Mountain coffee, whole bean 1 kg", "EA", "8900.00", "standard",
     "bluemountain", 80, 6, 1030),
    ("COF-HL-500", "High Mountain coffee, ground 500 g", "EA", "1650.00", "standard",
     "bluemountain", 150, 12, 520),
    ("TEA-GIN-20", "Ginger tea, 20 bags", "EA", "480.00", "standard", "islandpack", 400, 24, 60),
    ("TEA-MIN-20", "Peppermint tea, 20 bags", "EA", "480.00", "standard", "islandpack", 380, 24,
     60),
    ("SAU-JRK-300", "Jerk seasoning 300 g", "EA", "720.00", "standard", "islandpack", 300, 12,
     320),
    ("SAU-HOT-150", "Scotch bonnet pepper sauce 150 ml", "EA", "560.00", "standard",
     "islandpack", 500, 24, 190),
    ("RICE-5KG", "Long-grain rice 5 kg", "EA", "2100.00", "zero", "own", 120, 4, 5000),
    ("FLOUR-2KG", "Flour, all purpose 2 kg", "EA", "690.00", "zero", "own", 200, 10, 2000),
    ("SUGAR-2KG", "Brown sugar 2 kg", "EA", "780.00", "zero", "own", 180, 10, 2000),
    ("MILK-UHT-1L", "UHT milk 1 l", "EA", "390.00", "zero", "own", 600, 12, 1050),
    ("OIL-VEG-1L", "Vegetable oil 1 l", "EA", "850.00", "standard", "own", 220, 12, 930),
    ("CUP-PAPER-50", "Paper cups 12 oz, pack of 50", "EA", "1250.00", "standard", "own", 90, 20,
     700),
    ("LID-PAPER-50", "Cup lids 12 oz, pack of 50", "EA", "650.00", "standard", "own", 90, 20,
     300),
    ("NAPKIN-500", "Napkins, pack of 500", "EA", "980.00", "standard", "own", 70, 10, 1500),
    ("BAG-KRAFT-100", "Kraft bags, pack of 100", "EA", "1450.00", "standard", "own", 60, 10,
     1800),
    ("CLEAN-SAN-5L", "Sanitiser 5 l", "EA", "3200.00", "standard", "own", 40, 4, 5200),
    ("GLOVE-NIT-100", "Nitrile gloves, box of 100", "EA", "1900.00", "standard", "own", 75, 10,
     650),
    ("MUG-LOGO", "Branded mug", "EA", "1500.00", "standard", "own", 5, None, 350),
    ("GIFT-BOX", "Gift box: coffee and mugs", "EA", "7500.00", "standard", "own", 25, None,
     1500),
]

# code, name, basis, [(threshold, price)], channels (empty = all), days
SHIPPING = [
    ("standard", "Standard delivery (island-wide)", RateBasis.ORDER_TOTAL,
     [("0", "1200.00"), ("20000", "0.00")], [], (2, 4)),
    ("express", "Express next day", RateBasis.FLAT, [("0", "2500.00")], [], (1, 1)),
    ("pickup", "Pick up in store", RateBasis.FLAT, [("0", "0.00")], [], (0, 1)),
    ("freight", "Pallet freight (by weight)", RateBasis.WEIGHT,
     [("0", "3500.00"), ("50000", "6500.00"), ("200000", "12000.00")], ["B2B_PORTAL"], (2, 5)),
]

# (credential name, channel, kind)
DEMO_KEYS = [
    ("ecommerce_secret", Channel.ECOMMERCE, KeyKind.SECRET),
    ("ecommerce_publishable", Channel.ECOMMERCE, KeyKind.PUBLISHABLE),
    ("b2b_portal_secret", Channel.B2B_PORTAL, KeyKind.SECRET),
]

# sku -> [(min quantity, unit price)] for the B2B contract price list
CONTRACT_TIERS = {
    "COF-BM-250": [(1, "2200.00"), (12, "2050.00"), (48, "1900.00")],
    "COF-BM-1K": [(1, "8200.00"), (6, "7900.00")],
    "COF-HL-500": [(1, "1500.00"), (24, "1380.00")],
    "CUP-PAPER-50": [(1, "1100.00"), (20, "990.00")],
    "LID-PAPER-50": [(1, "580.00"), (20, "520.00")],
    "RICE-5KG": [(1, "1950.00")],
}


class Command(BaseCommand):
    help = "Load the demo store (idempotent) and print the demo credentials."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true",
                            help="Print the credentials as one JSON object, nothing else.")

    def handle(self, *args, **options):
        creds = load_credentials()
        with transaction.atomic():
            self.seed_reference_data()
            creds = self.seed_people(creds)
            creds = self.seed_storefront_keys(creds)
            creds = self.seed_bridge(creds)
        seed_demo_orders(staff=get_user_model().objects.get(username=creds["staff"]["username"]))
        seed_demo_checkouts(api_key=ApiKey.objects.get(key_hash=hash_key(
            creds["storefront"]["b2b_portal_secret"])))
        seed_demo_quotes(staff=get_user_model().objects.get(username=creds["staff"]["username"]))
        # The history above was moved back after its events marked today dirty: roll up the
        # whole demo period so the analytics dashboard shows it at once.
        today = timezone.localdate()
        analytics_rebuild(today - timedelta(days=max(DEMO_AGES) + 1), today)
        save_credentials(creds)
        if options["json"]:
            self.stdout.write(json.dumps(creds, sort_keys=True))
        else:
            self.stdout.write(self.describe(creds))

    # -- data ---------------------------------------------------------------------------------
    def seed_reference_data(self):
        for code, name in [(Channel.ECOMMERCE, "Web shop"), (Channel.B2B_PORTAL, "B2B portal")]:
            Channel.objects.update_or_create(code=code, defaults={"name": name, "currency": "JMD"})

        standard, _ = TaxClass.objects.update_or_create(code="standard",
                                                        defaults={"name": "Standard rated"})
        TaxRate.objects.update_or_create(tax_class=standard, country="",
                                         defaults={"name": "GCT 15%", "rate": D("0.1500")})
        zero, _ = TaxClass.objects.update_or_create(code="zero", defaults={"name": "Zero rated"})
        TaxRate.objects.update_or_create(tax_class=zero, country="",
                                         defaults={"name": "GCT 0%", "rate": D("0.0000")})
        tax_classes = {"standard": standard, "zero": zero}

        suppliers = {}
        for code, name, external in [
            ("own", "OrderFlow Demo Store (own stock)", False),
            ("bluemountain", "Blue Mountain Coffee Co.", True),
            ("islandpack", "Island Pantry Packers", True),
        ]:
            suppliers[code], _ = Supplier.objects.update_or_create(
                code=code, defaults={"name": name, "is_external": external,
                                     "email": f"orders@{code}.example.com"},
            )

        products = {}
        for sku, name, uom, price, tax, supplier, stock, case, grams in PRODUCTS:
            product, created = Product.objects.update_or_create(
                sku=sku,
                defaults={
                    "name": name, "base_uom": uom, "list_price": D(price), "currency": "JMD",
                    "tax_class": tax_classes[tax], "supplier": suppliers[supplier],
                    "weight_grams": grams, "is_active": True, "track_inventory": True,
                },
                create_defaults={
                    "name": name, "base_uom": uom, "list_price": D(price), "currency": "JMD",
                    "tax_class": tax_classes[tax], "supplier": suppliers[supplier],
                    "weight_grams": grams, "stock_on_hand": stock,
                },
            )
            if case:
                ProductUnit.objects.update_or_create(
                    product=product, uom=f"CS{case}",
                    defaults={"name": f"Case of {case}", "factor": case},
                )
            products[sku] = product

        contract, _ = PriceList.objects.update_or_create(
            code="b2b-contract", defaults={"name": "B2B contract prices 2026", "currency": "JMD"}
        )
        for sku, tiers in CONTRACT_TIERS.items():
            for min_quantity, price in tiers:
                PriceListEntry.objects.update_or_create(
                    price_list=contract, product=products[sku], min_quantity=min_quantity,
                    defaults={"unit_price": D(price)},
                )
        self.contract = contract

        for code, name, basis, rates, channels, (low, high) in SHIPPING:
            method, _ = ShippingMethod.objects.update_or_create(
                code=code, defaults={"name": name, "basis": basis, "currency": "JMD",
                                     "estimated_days_min": low, "estimated_days_max": high,
                                     "countries": "JM"},
            )
            method.channels.set(Channel.objects.filter(code__in=channels))
            for threshold, price in rates:
                ShippingRate.objects.update_or_create(method=method, threshold=D(threshold),
                                                      defaults={"price": D(price)})
        # The integration guides have no shipping step: each demo channel ships standard
        # unless staff chose another default.
        Channel.objects.filter(code__in=[Channel.ECOMMERCE, Channel.B2B_PORTAL],
                               default_shipping_method__isnull=True).update(
            default_shipping_method=ShippingMethod.objects.get(code="standard"))

    def seed_storefront_keys(self, creds: dict) -> dict:
        """Demo API keys: reused while var/ still holds them, else issued anew (the old demo
        key of that name is revoked). Only hashes are in the database."""
        keys = dict(creds.get("storefront", {}))
        for name, channel_code, kind in DEMO_KEYS:
            label = f"Demo {channel_code} {kind.label.lower()}"
            raw = keys.get(name)
            if raw and ApiKey.objects.filter(key_hash=hash_key(raw),
                                             revoked_at__isnull=True).exists():
                continue
            for old in ApiKey.objects.filter(name=label, revoked_at__isnull=True):
                api_key_revoke(api_key=old, actor=Actor.system("seed_demo"))
            _, keys[name] = api_key_create(name=label, kind=kind, mode=KeyMode.TEST,
                                           channel=Channel.objects.get(code=channel_code))
        creds["storefront"] = keys
        return creds

    def seed_bridge(self, creds: dict) -> dict:
        """An enabled demo bridge connection with every cart and order scope."""
        connection = InboundConnection.objects.filter(name="Demo headless storefront").first()
        if connection is None:
            connection = connection_create(
                name="Demo headless storefront",
                channel=Channel.objects.get(code=Channel.ECOMMERCE),
                scopes=list(BridgeScope.values),
            )
        creds["bridge"] = {"client_id": connection.client_id, "secret": connection.secret,
                           "channel": connection.channel.code,
                           "endpoint": f"/bridge/{connection.client_id}/{{action}}"}
        return creds

    def seed_people(self, creds: dict) -> dict:
        User = get_user_model()
        staff_password = creds.get("staff", {}).get("password") or new_password()
        staff, _ = User.objects.get_or_create(username="admin",
                                              defaults={"email": "admin@example.com"})
        staff.is_staff = staff.is_superuser = staff.is_active = True
        staff.set_password(staff_password)
        staff.save()

        company, _ = Company.objects.update_or_create(
            code="kingston-cafes",
            defaults={
                "name": "Kingston Cafés Ltd", "email": "accounts@kingston-cafes.example.com",
                "credit_limit": D("500000.00"), "currency": "JMD",
                "payment_terms": PaymentTerms.NET30, "price_list": self.contract,
                "tax_id": "000-000-000",
            },
        )
        Address.objects.get_or_create(
            company=company, label="Head office",
            defaults={"full_name": "Accounts Payable", "company_name": company.name,
                      "line1": "12 Knutsford Boulevard", "city": "Kingston", "region": "St Andrew",
                      "country": "JM", "is_default_billing": True, "is_default_shipping": True},
        )
        buyer, _ = Customer.objects.update_or_create(
            email="buyer@kingston-cafes.example.com",
            defaults={"first_name": "Bria", "last_name": "Buyer", "company": company},
        )
        approver_password = creds.get("approver", {}).get("password") or new_password()
        approver_user, _ = User.objects.get_or_create(
            username="approver@kingston-cafes.example.com",
            defaults={"email": "approver@kingston-cafes.example.com"},
        )
        approver_user.set_password(approver_password)
        approver_user.save()
        approver, _ = Customer.objects.update_or_create(
            email="approver@kingston-cafes.example.com",
            defaults={"first_name": "Andre", "last_name": "Approver", "company": company,
                      "user": approver_user},
        )
        CompanyApprover.objects.update_or_create(company=company, customer=approver,
                                                 defaults={"level": 1})
        seed_orders_demo(company=company, approver=approver)

        shopper, _ = Customer.objects.update_or_create(
            email="shopper@example.com",
            defaults={"first_name": "Sasha", "last_name": "Shopper", "accepts_marketing": True},
        )
        Address.objects.get_or_create(
            customer=shopper, label="Home",
            defaults={"full_name": "Sasha Shopper", "line1": "4 Hope Road", "city": "Kingston",
                      "region": "St Andrew", "country": "JM", "is_default_shipping": True,
                      "is_default_billing": True},
        )

        creds.update({
            "staff": {"username": staff.username, "password": staff_password},
            "approver": {"username": approver_user.username, "password": approver_password,
                         "company": company.code},
            "customers": {"b2c": shopper.email, "company_buyer": buyer.email,
                          "company": company.code},
        })
        return creds

    def describe(self, creds: dict) -> str:
        lines = [
            "Demo data loaded.",
            f"  Staff login      {creds['staff']['username']} / {creds['staff']['password']}",
            f"  Approver login   {creds['approver']['username']} / "
            f"{creds['approver']['password']}",
            f"  B2C customer     {creds['customers']['b2c']}",
            f"  Company buyer    {creds['customers']['company_buyer']} "
            f"({creds['customers']['company']})",
            "Storefront API keys (Authorization: Bearer …):",
            f"  ECOMMERCE secret       {creds['storefront']['ecommerce_secret']}",
            f"  ECOMMERCE publishable  {creds['storefront']['ecommerce_publishable']}",
            f"  B2B_PORTAL secret      {creds['storefront']['b2b_portal_secret']}",
            "Bridge connection (POST /bridge/{client_id}/{action}, HMAC-signed):",
            f"  client_id  {creds['bridge']['client_id']}",
            f"  secret     {creds['bridge']['secret']}",
        ]
        return "\n".join(lines)


# --- demo orders: a back office with work in it --------------------------------------------
# (reference, channel, buyer: "shopper" | "company", [(sku, quantity)], payment kind, then)
# Each order goes in through orders.services.order_import (stock, pricing, payment, timeline,
# outbox) and is moved on through the services staff use; an order whose reference is already
# there is left alone, so a second run changes nothing.
DEMO_ORDERS = [
    ("DEMO-1001", "ECOMMERCE", "shopper", [("COF-BM-250", 2)], "payment_intent", ()),
    ("DEMO-1002", "ECOMMERCE", "shopper", [("COF-HL-500", 3)], "payment_intent", ()),
    ("DEMO-1003", "ECOMMERCE", "shopper", [("COF-BM-1K", 1)], "payment_intent", ("capture",)),
    ("DEMO-1004", "ECOMMERCE", "shopper", [("COF-BM-250", 1), ("COF-HL-500", 1)],
     "payment_intent", ("capture",)),
    ("DEMO-1005", "ECOMMERCE", "shopper", [("COF-HL-500", 2)], "cod", ()),
    ("DEMO-1006", "ECOMMERCE", "shopper", [("COF-BM-250", 4)], "cod", ("cancel",)),
    ("DEMO-1007", "ECOMMERCE", "shopper", [("COF-BM-1K", 2)], "payment_intent", ("cancel",)),
    ("DEMO-1008", "ECOMMERCE", "shopper", [("COF-HL-500", 1)], "cod", ("invoice",)),
    ("DEMO-1009", "ECOMMERCE", "shopper", [("COF-BM-250", 3)], "payment_intent",
     ("capture", "invoice")),
    ("DEMO-2001", "B2B_PORTAL", "company", [("COF-BM-1K", 6)], "terms", ()),
    ("DEMO-2002", "B2B_PORTAL", "company", [("COF-BM-250", 24)], "terms", ("invoice",)),
    ("DEMO-2003", "B2B_PORTAL", "company", [("COF-HL-500", 12)], "terms",
     ("invoice", "invoice_paid")),
    ("DEMO-2004", "B2B_PORTAL", "company", [("COF-BM-1K", 3), ("COF-HL-500", 6)], "terms",
     ("invoice", "invoice_paid")),
    ("DEMO-2005", "B2B_PORTAL", "company", [("COF-BM-250", 12)], "terms", ("cancel",)),
    ("DEMO-2006", "B2B_PORTAL", "company", [("COF-HL-500", 6)], "terms", ("invoice",)),
    ("DEMO-2007", "B2B_PORTAL", "company", [("COF-BM-1K", 2)], "cod", ()),
    # A busier month: shipped in part or in full (a fully shipped terms order is invoiced by
    # the shipment), paid invoices, one overdue invoice, more to confirm and to cancel.
    ("DEMO-1010", "ECOMMERCE", "shopper", [("TEA-GIN-20", 6), ("TEA-MIN-20", 6)],
     "payment_intent", ("capture", "ship_part")),
    ("DEMO-1011", "ECOMMERCE", "shopper", [("SAU-JRK-300", 2)], "payment_intent",
     ("capture", "ship")),
    ("DEMO-1012", "ECOMMERCE", "shopper", [("SAU-HOT-150", 4), ("COF-HL-500", 1)], "cod",
     ("ship_part",)),
    ("DEMO-1013", "ECOMMERCE", "shopper", [("MUG-LOGO", 1)], "payment_intent", ()),
    ("DEMO-1014", "ECOMMERCE", "shopper", [("GIFT-BOX", 1)], "payment_intent", ("capture",)),
    ("DEMO-1015", "ECOMMERCE", "shopper", [("RICE-5KG", 1), ("FLOUR-2KG", 2)], "cod",
     ("cancel",)),
    ("DEMO-1016", "ECOMMERCE", "shopper", [("OIL-VEG-1L", 2), ("SUGAR-2KG", 1)],
     "payment_intent", ("capture", "ship", "invoice")),
    ("DEMO-1017", "ECOMMERCE", "shopper", [("MILK-UHT-1L", 6)], "cod", ()),
    ("DEMO-1018", "ECOMMERCE", "shopper", [("TEA-GIN-20", 3)], "payment_intent",
     ("capture",)),
    ("DEMO-2008", "B2B_PORTAL", "company", [("CUP-PAPER-50", 20), ("LID-PAPER-50", 20)],
     "terms", ("ship_part",)),
    ("DEMO-2009", "B2B_PORTAL", "company", [("NAPKIN-500", 5), ("BAG-KRAFT-100", 4)], "terms",
     ("ship",)),
    ("DEMO-2010", "B2B_PORTAL", "company", [("CLEAN-SAN-5L", 4)], "terms",
     ("ship", "invoice_paid")),
    ("DEMO-2011", "B2B_PORTAL", "company", [("GLOVE-NIT-100", 10)], "terms",
     ("invoice", "overdue")),
    ("DEMO-2012", "B2B_PORTAL", "company", [("COF-BM-250", 12), ("COF-HL-500", 12)], "terms",
     ()),
    ("DEMO-2013", "B2B_PORTAL", "company", [("RICE-5KG", 8), ("SUGAR-2KG", 10)], "terms",
     ("invoice", "invoice_paid")),
    ("DEMO-2014", "B2B_PORTAL", "company", [("MILK-UHT-1L", 24)], "terms", ("cancel",)),
    ("DEMO-2015", "B2B_PORTAL", "company", [("OIL-VEG-1L", 12)], "cod", ("ship_part",)),
    ("DEMO-2016", "B2B_PORTAL", "company", [("FLOUR-2KG", 10)], "terms", ()),
]

# Days ago each demo order was placed, in DEMO_ORDERS order (then repeating), so the lists,
# their date filters and the "not shipped after 2 days" queue have a month of history. An
# overdue invoice was issued 45 days ago, due 15 days ago.
DEMO_AGES = [27, 25, 24, 22, 21, 19, 18, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 3,
             2, 2, 1, 1, 1, 0, 0, 0]


# B2B orders over the company's approval thresholds (orders.demo), placed the way the portal
# places them: a cart checked out through carts.services with the buyer's shopper principal,
# on the company's credit terms — they wait in the approvers' inbox and the admin's queue.
# (reference kept in the cart's metadata, [(sku, quantity)])
DEMO_CHECKOUTS = [
    ("DEMO-3001", [("COF-BM-1K", 15)]),
    ("DEMO-3002", [("COF-HL-500", 70)]),
]


def seed_demo_checkouts(*, api_key) -> int:
    """The checkouts above, each once (a second run finds its reference and skips it)."""
    buyer = Customer.objects.select_related("company__price_list").get(
        email="buyer@kingston-cafes.example.com")
    principal = Principal(api_key=api_key, customer=buyer)
    created = 0
    for reference, lines in DEMO_CHECKOUTS:
        if Order.objects.filter(metadata__demo=reference).exists():
            continue
        cart = cart_services.cart_create(channel=api_key.channel, customer=buyer,
                                         api_key=api_key, metadata={"demo": reference})
        for sku, quantity in lines:
            cart_services.cart_add_line(principal=principal, cart_id=cart.public_id, sku=sku,
                                        quantity=quantity)
        cart_services.cart_price(principal=principal, cart_id=cart.public_id)
        cart_services.cart_checkout(principal=principal, cart_id=cart.public_id,
                                    payment={"kind": "terms"}, notes="Monthly café restock.")
        created += 1
    return created


def seed_demo_orders(*, staff) -> int:
    """The demo orders above, across statuses; returns how many were created this run."""
    actor = Actor.staff(staff)
    products = {p.sku: p for p in Product.objects.select_related("tax_class", "supplier")
                .prefetch_related("tax_class__rates")}
    company = Company.objects.get(code="kingston-cafes")
    buyers = {
        "shopper": (Customer.objects.get(email="shopper@example.com"), None),
        "company": (Customer.objects.get(email="buyer@kingston-cafes.example.com"), company),
    }
    created = 0
    for index, (reference, channel_code, buyer, lines, kind, then) in enumerate(DEMO_ORDERS):
        channel = Channel.objects.get(code=channel_code)
        if Order.objects.filter(channel=channel, external_reference=reference).exists():
            continue
        customer, buyer_company = buyers[buyer]
        address = (customer.addresses.first() or (buyer_company.addresses.first()
                                                   if buyer_company else None))
        shipping = ({"full_name": address.full_name, "company_name": address.company_name,
                     "line1": address.line1, "city": address.city, "region": address.region,
                     "country": address.country} if address else None)
        with transaction.atomic():
            order = order_services.order_import(
                channel=channel, email=customer.email, customer=customer,
                company=buyer_company, external_reference=reference, actor=actor,
                payment_kind=kind, shipping_address=shipping,
                payment_reference=f"pi_demo_{reference.lower()}" if kind == "payment_intent"
                else "",
                lines=[{"product": products[sku], "quantity": quantity, "order_uom": "",
                        "order_quantity": None, "unit_price": None}
                       for sku, quantity in lines],
                source="demo")
            for step in then:
                order.refresh_from_db()
                if step == "capture":
                    order_services.payment_capture(order=order, payment=order.payments.get(),
                                                   actor=actor,
                                                   reference=f"ch_demo_{reference.lower()}")
                elif step == "cancel":
                    order_services.order_cancel(order=order, actor=actor,
                                                reason=CancelReason.CUSTOMER,
                                                note="The customer changed their mind.")
                elif step == "invoice":
                    order_services.invoice_issue(order=order, actor=actor)
                elif step == "invoice_paid":
                    order_services.invoice_mark_paid(
                        invoice=order.invoices.get(status="issued"), actor=actor,
                        reference=f"bank_{reference.lower()}")
                elif step in ("ship", "ship_part"):
                    ship_demo(order, actor=actor, part=step == "ship_part", reference=reference)
                elif step == "overdue":
                    backdate_invoice(order.invoices.get(status="issued"), days=45, due_days=30)
            backdate_order(order, days=DEMO_AGES[index % len(DEMO_AGES)])
        created += 1
    return created


def ship_demo(order, *, actor, part: bool, reference: str) -> None:
    """A shipment through fulfillment's services: every unit, or half of the first line."""
    lines = list(order.lines.order_by("id"))
    quantities = ({lines[0].public_id: max(1, lines[0].quantity // 2)} if part
                  else {line.public_id: line.quantity for line in lines})
    shipment = shipment_create(order=order, lines=quantities, actor=actor, carrier="Knutsford",
                               tracking_number=f"KX{reference[-4:]}JM")
    shipment_ship(shipment=shipment, actor=actor)


# Demo history only: the services stamp "now", and a first look at the back office should
# show a month of trading. These writes move timestamps back; they change no status.
def backdate_order(order, *, days: int) -> None:
    if not days:
        return
    delta = timedelta(days=days)
    stamps = {name: F(name) - delta for name in ("placed_at", "created_at", "confirmed_at",
                                                  "completed_at", "canceled_at")
              if getattr(order, name) is not None}
    Order.objects.filter(pk=order.pk).update(**stamps)
    OrderEvent.objects.filter(order=order).update(created_at=F("created_at") - delta)


def backdate_invoice(invoice, *, days: int, due_days: int) -> None:
    issued = timezone.now() - timedelta(days=days)
    Invoice.objects.filter(pk=invoice.pk).update(
        issued_at=issued, due_date=(issued + timedelta(days=due_days)).date())


# (reference kept at the start of the request's notes, [(sku, quantity)], what then happens:
# "draft" (built, not submitted), "submitted", "sent" (submitted, approved, sent to the buyer))
DEMO_QUOTES = [
    ("DEMO-Q1", [("COF-BM-1K", 24), ("COF-BM-250", 48)], "sent"),
    ("DEMO-Q2", [("CUP-PAPER-50", 100), ("LID-PAPER-50", 100)], "submitted"),
    ("DEMO-Q3", [("CLEAN-SAN-5L", 10), ("GLOVE-NIT-100", 20)], "draft"),
    ("DEMO-Q4", [("RICE-5KG", 20)], "request"),
]


def seed_demo_quotes(*, staff) -> int:
    """Quote requests of the demo company and the quotes staff built from them, through
    quotes.services; a request whose reference is there already is left alone."""
    actor = Actor.staff(staff)
    buyer = Customer.objects.select_related("company").get(
        email="buyer@kingston-cafes.example.com")
    channel = Channel.objects.get(code=Channel.B2B_PORTAL)
    created = 0
    for reference, lines, then in DEMO_QUOTES:
        if QuoteRequest.objects.filter(notes__startswith=reference).exists():
            continue
        with transaction.atomic():
            request = quote_services.quote_request_create(
                channel=channel, company=buyer.company, customer=buyer, actor=actor,
                lines=[{"sku": sku, "quantity": quantity} for sku, quantity in lines],
                notes=f"{reference}: volume pricing for the next quarter, please.")
            if then != "request":
                quote = quote_services.quote_create(actor=actor, author=staff, request=request,
                                                    terms="NET30, delivery island-wide.")
                if then in ("submitted", "sent"):
                    quote = quote_services.quote_submit(quote=quote, actor=actor)
                if then == "sent":
                    quote.refresh_from_db()
                    while quote.status == QuoteStatus.PENDING_APPROVAL:
                        quote = quote_services.quote_approve(quote=quote, user=staff,
                                                             actor=actor)
                        quote.refresh_from_db()
                    quote_services.quote_send(quote=quote, actor=actor)
        created += 1
    return created
