from django.urls import path

from analytics.api import views

app_name = "analytics"

urlpatterns = [
    path("analytics/daily", views.DailyApi.as_view(), name="daily"),
    path("analytics/summary", views.SummaryApi.as_view(), name="summary"),
]
