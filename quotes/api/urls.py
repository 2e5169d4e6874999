from django.urls import path

from quotes.api import views

app_name = "quotes"

quote = "quotes/<str:quote_id>"

urlpatterns = [
    path("quote-requests", views.QuoteRequestListApi.as_view(), name="quote-request-list"),
    path("quote-requests/<str:request_id>", views.QuoteRequestDetailApi.as_view(),
         name="quote-request-detail"),
    path("quotes", views.QuoteListApi.as_view(), name="quote-list"),
    path(quote, views.QuoteDetailApi.as_view(), name="quote-detail"),
    path(f"{quote}/versions", views.QuoteVersionsApi.as_view(), name="quote-versions"),
    path(f"{quote}/submit", views.QuoteSubmitApi.as_view(), name="quote-submit"),
    path(f"{quote}/send", views.QuoteSendApi.as_view(), name="quote-send"),
    path(f"{quote}/withdraw", views.QuoteWithdrawApi.as_view(), name="quote-withdraw"),
    path(f"{quote}/convert", views.QuoteConvertApi.as_view(), name="quote-convert"),
    path(f"{quote}/accept", views.QuoteAcceptApi.as_view(), name="quote-accept"),
    path(f"{quote}/decline", views.QuoteDeclineApi.as_view(), name="quote-decline"),
    path(f"{quote}/request-changes", views.QuoteRequestChangesApi.as_view(),
         name="quote-request-changes"),
]
