"""The transaction log in the admin: read-only, searchable by correlation id and object ids."""

from django.contrib import admin
from unfold.admin import ModelAdmin

from bridges.models import TransactionLog
from orderflow.admin import DayRangeFilter


@admin.register(TransactionLog)
class TransactionLogAdmin(ModelAdmin):
    list_display = ["created_at", "kind", "direction", "client", "method", "endpoint",
                    "status_code", "code", "latency_ms", "correlation_id"]
    list_filter = ["kind", "direction", "status_code", "code", "connection",
                   ("created_at", DayRangeFilter)]
    list_filter_submit = True
    search_fields = ["=correlation_id", "object_ids", "client", "endpoint", "code"]
    date_hierarchy = "created_at"
    list_select_related = ["connection", "api_key"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in TransactionLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
