from django.urls import path

from imports.api import views

app_name = "imports"

job = "imports/<str:job_id>"

urlpatterns = [
    path("imports", views.ImportJobCreateApi.as_view(), name="import-list"),
    path(job, views.ImportJobDetailApi.as_view(), name="import-detail"),
    path(f"{job}/errors", views.ImportJobErrorsApi.as_view(), name="import-errors"),
    path(f"{job}/cancel", views.ImportJobCancelApi.as_view(), name="import-cancel"),
]
