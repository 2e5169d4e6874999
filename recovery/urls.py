from django.urls import path

from recovery import views

app_name = "recovery-pages"

urlpatterns = [
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("<str:token>", views.recover, name="recover"),
]
