from django.urls import path

from orders.api import views

app_name = "orders"

order = "orders/<str:order_id>"
payment = f"{order}/payments/<str:payment_id>"
edit = f"{order}/edits/<str:edit_id>"

urlpatterns = [
    path("orders", views.OrderListApi.as_view(), name="order-list"),
    # Before orders/<order_id>: "mark-exported" is not an order id.
    path("orders/mark-exported", views.OrdersMarkExportedApi.as_view(),
         name="orders-mark-exported"),
    path(order, views.OrderDetailApi.as_view(), name="order-detail"),
    path(f"{order}/approve", views.OrderApproveApi.as_view(), name="order-approve"),
    path(f"{order}/decline", views.OrderDeclineApi.as_view(), name="order-decline"),
    path(f"{order}/confirm", views.OrderConfirmApi.as_view(), name="order-confirm"),
    path(f"{order}/cancel", views.OrderCancelApi.as_view(), name="order-cancel"),
    path(f"{order}/complete", views.OrderCompleteApi.as_view(), name="order-complete"),
    path(f"{order}/mark-exported", views.OrderMarkExportedApi.as_view(),
         name="order-mark-exported"),
    path(f"{order}/invoices", views.OrderInvoiceIssueApi.as_view(), name="order-invoice-issue"),
    path(f"{order}/edits", views.OrderEditsApi.as_view(), name="order-edits"),
    path(edit, views.OrderEditDetailApi.as_view(), name="order-edit-detail"),
    path(f"{edit}/apply", views.OrderEditApplyApi.as_view(), name="order-edit-apply"),
    path(f"{edit}/discard", views.OrderEditDiscardApi.as_view(), name="order-edit-discard"),
    path(f"{payment}/authorize", views.PaymentAuthorizeApi.as_view(), name="payment-authorize"),
    path(f"{payment}/capture", views.PaymentCaptureApi.as_view(), name="payment-capture"),
    path(f"{payment}/refund", views.PaymentRefundApi.as_view(), name="payment-refund"),
    path(f"{payment}/void", views.PaymentVoidApi.as_view(), name="payment-void"),
    path("invoices", views.InvoiceListApi.as_view(), name="invoice-list"),
    # Before invoices/<invoice_id>, which would take "inv_….pdf" for an id.
    path("invoices/<str:invoice_id>.pdf", views.InvoicePdfApi.as_view(), name="invoice-pdf"),
    path("invoices/<str:invoice_id>", views.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<str:invoice_id>/mark-paid", views.InvoiceMarkPaidApi.as_view(),
         name="invoice-mark-paid"),
    path("supplier-orders", views.SupplierOrderListApi.as_view(), name="supplier-order-list"),
    path("supplier-orders/<str:supplier_order_id>", views.SupplierOrderDetailApi.as_view(),
         name="supplier-order-detail"),
    path("supplier-orders/<str:supplier_order_id>/acknowledge",
         views.SupplierOrderAcknowledgeApi.as_view(), name="supplier-order-acknowledge"),
]
