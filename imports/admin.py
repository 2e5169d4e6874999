"""Import jobs in the admin: upload → a dry-run preview of the first rows → confirm; the job's
page refreshes itself with a progress bar until the job ends; the jobs list."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin

from imports import services
from imports.constants import FINISHED, RUNNING, ImportKind, ImportMode
from imports.models import ImportJob
from imports.tasks import import_job_enqueue
from orderflow.errors import DomainError

ERRORS_SHOWN = 50


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices)
    mode = forms.ChoiceField(choices=ImportMode.choices, initial=ImportMode.ALL_OR_NOTHING,
                             help_text="All or nothing: one bad row and nothing is imported. "
                                       "Skip bad rows: the good rows are imported.")
    file = forms.FileField(help_text="CSV, JSON (JSON Lines or an array) or XLSX")


class ConfirmForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices, widget=forms.HiddenInput)
    mode = forms.ChoiceField(choices=ImportMode.choices, widget=forms.RadioSelect)
    stored = forms.CharField(widget=forms.HiddenInput)


class RunningFilter(admin.SimpleListFilter):
    title = "running"
    parameter_name = "running"

    def lookups(self, request, model_admin):
        return [("yes", "Queued or running")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=RUNNING)
        return queryset


@admin.register(ImportJob)
class ImportJobAdmin(ModelAdmin):
    list_display = ["public_id", "kind", "filename", "mode", "status", "progress_bar",
                    "counts", "created_by", "created_at"]
    list_filter = [RunningFilter, "status", "kind", "mode"]
    search_fields = ["public_id", "filename"]
    list_select_related = ["created_by"]

    @admin.display(description="progress")
    def progress_bar(self, job):
        job = services.job_live(job)
        return format_html('<progress max="100" value="{}"></progress> {} %',
                           job.progress, job.progress)

    @admin.display(description="created / updated / unchanged / failed")
    def counts(self, job):
        return (f"{job.created_count} / {job.updated_count} / {job.unchanged_count} / "
                f"{job.failed_count}")

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/failed-rows.csv", view(self.failed_rows_view),
                 name="imports_importjob_failed_rows"),
            path("<int:pk>/cancel/", view(self.cancel_view), name="imports_importjob_cancel"),
            path("<int:pk>/job/", view(self.job_view), name="imports_importjob_job"),
        ] + super().get_urls()

    def _context(self, request, title, **extra):
        return {**self.admin_site.each_context(request), "title": title,
                "opts": self.model._meta, **extra}

    def add_view(self, request, form_url="", extra_context=None):
        """Upload (and preview), then confirm: the file waits in storage in between."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST" and "stored" in request.POST:
            form = ConfirmForm(request.POST)
            if form.is_valid():
                try:
                    job = services.job_create_stored(
                        kind=form.cleaned_data["kind"], mode=form.cleaned_data["mode"],
                        name=form.cleaned_data["stored"], user=request.user)
                except DomainError as exc:
                    messages.error(request, exc.detail)
                    return redirect("admin:imports_importjob_add")
                import_job_enqueue(job.pk)
                messages.success(request, f"Import {job.public_id} queued.")
                return redirect("admin:imports_importjob_job", job.pk)
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                stored = services.store_pending(form.cleaned_data["file"])
            except DomainError as exc:
                form.add_error("file", exc.detail)
            else:
                kind = form.cleaned_data["kind"]
                confirm = ConfirmForm(initial={"kind": kind, "stored": stored,
                                               "mode": form.cleaned_data["mode"]})
                return render(request, "admin/imports/importjob/preview.html", self._context(
                    request, f"Preview: {form.cleaned_data['file'].name}",
                    preview=services.preview(kind=kind, name=stored), confirm=confirm,
                    kind_label=ImportKind(kind).label))
        return render(request, "admin/imports/importjob/upload.html",
                      self._context(request, "Import a file", form=form))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.job_view(request, int(object_id))

    def job_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = services.job_live(get_object_or_404(ImportJob.objects.select_related(
            "created_by"), pk=pk))
        errors = list(job.row_errors.all()[:ERRORS_SHOWN])
        return render(request, "admin/imports/importjob/job.html", self._context(
            request, f"{job.get_kind_display()} import {job.public_id}", job=job,
            running=job.status not in FINISHED,
            errors=[(e, services.error_text(e)) for e in errors],
            cancel_url=reverse("admin:imports_importjob_cancel", args=[job.pk]),
            failed_rows_url=reverse("admin:imports_importjob_failed_rows", args=[job.pk])))

    def cancel_view(self, request, pk):
        job = get_object_or_404(ImportJob, pk=pk)
        if request.method != "POST" or not self.has_add_permission(request):
            raise PermissionDenied
        try:
            services.job_cancel(job=job)
            messages.success(request, "Cancel requested.")
        except DomainError as exc:
            messages.error(request, exc.detail)
        return redirect("admin:imports_importjob_job", job.pk)

    def failed_rows_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = get_object_or_404(ImportJob, pk=pk)
        response = StreamingHttpResponse(services.failed_rows_csv(job),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{job.public_id}-failed-rows.csv"')
        return response
