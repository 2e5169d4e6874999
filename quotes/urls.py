"""The approvals inbox, under ``/approvals/``."""

from django.urls import path

from quotes import views

app_name = "approvals"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("decided/", views.decided, name="decided"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("quotes/<str:quote_id>/", views.quote_detail, name="quote"),
    path("quotes/<str:quote_id>/decide", views.quote_decide, name="quote-decide"),
    path("orders/<str:order_id>/", views.order_detail, name="order"),
    path("orders/<str:order_id>/decide", views.order_decide, name="order-decide"),
]
