from celery import shared_task

from orders.services import orders_cancel_unpaid


@shared_task(name="orders.tasks.cancel_unpaid_orders_task")
def cancel_unpaid_orders_task() -> int:
    """Cancel orders whose payment was not captured within ORDERFLOW_PAYMENT_TIMEOUT."""
    return orders_cancel_unpaid()
