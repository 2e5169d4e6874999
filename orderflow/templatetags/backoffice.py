"""``{% load backoffice %}``: ``amount|money:currency``, ``rate|percent``, ``address|address``."""

from django import template
from django.utils.html import format_html_join

from orderflow import display
from orderflow.navigation import grouped_app_list

register = template.Library()


@register.filter
def money(amount, currency):
    return display.money(amount, currency)


@register.filter
def percent(value):
    return display.rate(value)


@register.filter
def address(value):
    lines = display.address_lines(value)
    if not lines:
        return "—"
    return format_html_join("", '<span style="display:block">{}</span>',
                            ((line,) for line in lines))


@register.simple_tag(takes_context=True)
def grouped_apps(context):
    """The admin's models grouped by what staff do (orderflow.navigation)."""
    return grouped_app_list(context["request"])
