from django.urls import path

from bridges.hmac.views import BridgeApi

app_name = "bridge"

urlpatterns = [
    path("<str:client_id>/<str:action>", BridgeApi.as_view(), name="bridge"),
]
