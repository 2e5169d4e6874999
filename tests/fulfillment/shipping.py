"""Shipping units the one way they ship: a shipment, created and shipped."""

from fulfillment import services


def ship_lines(*, order, quantities: dict[str, int], actor, **tracking):
    """Create a shipment of ``{line public id: units}`` and ship it; returns the shipment."""
    shipment = services.shipment_create(order=order, lines=quantities, actor=actor, **tracking)
    return services.shipment_ship(shipment=shipment, actor=actor)
