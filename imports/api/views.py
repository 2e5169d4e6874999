"""Import jobs over REST (staff: session or HTTP Basic, with the ``imports`` permissions).

``POST /imports`` stores the file and queues the job (202); the job's page reports its
status, counts, progress and first errors; ``/errors`` lists every refused row (paged, or
``?format=csv``: the failed rows with an ``error`` column, ready to fix and re-upload).
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from imports import services
from imports.constants import ImportFormat, ImportKind, ImportMode
from imports.models import ImportJob, ImportRowError
from imports.tasks import import_job_enqueue
from orderflow.api.errors import problem_response
from orderflow.api.pagination import LimitOffsetPage
from orderflow.errors import NotFound

FIRST_ERRORS = 20


class ImportRowErrorOut(serializers.ModelSerializer):
    text = serializers.SerializerMethodField()
    raw = serializers.SerializerMethodField()

    class Meta:
        model = ImportRowError
        fields = ["row_number", "column", "message", "text", "raw"]

    def get_raw(self, error) -> dict:
        return dict(error.raw)

    def get_text(self, error) -> str:
        return services.error_text(error)


class ImportJobOut(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    # A plain string in the schema: an enum named "status" would collide with the webhook
    # deliveries' in drf-spectacular's enum naming.
    status = serializers.CharField(
        help_text="queued → validating → importing → done | failed | canceled")
    progress = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    first_errors = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", default=None)

    class Meta:
        model = ImportJob
        fields = ["id", "kind", "format", "mode", "status", "filename", "size", "created_by",
                  "created_at", "started_at", "finished_at", "progress", "counts", "error",
                  "first_errors"]

    def get_progress(self, job) -> dict:
        return {"total_rows": job.total_rows, "rows_done": job.rows_done,
                "percent": job.progress, "rows_per_second": job.rows_per_second,
                "seconds_left": job.seconds_left}

    def get_counts(self, job) -> dict:
        return {"created": job.created_count, "updated": job.updated_count,
                "unchanged": job.unchanged_count, "failed": job.failed_count}

    def get_error(self, job) -> dict | None:
        if not job.error_code:
            return None
        body = {"code": job.error_code, "detail": job.error}
        if job.missing_columns:
            body["missing_columns"] = job.missing_columns
        return body

    def get_first_errors(self, job) -> list:
        return ImportRowErrorOut(job.row_errors.all()[:FIRST_ERRORS], many=True).data


class ImportJobIn(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    mode = serializers.ChoiceField(choices=ImportMode.choices, required=False,
                                   default=ImportMode.ALL_OR_NOTHING)
    format = serializers.ChoiceField(choices=ImportFormat.choices, required=False)


def _job(job_id: str) -> ImportJob:
    job = ImportJob.objects.select_related("created_by").filter(public_id=job_id).first()
    if job is None:
        raise NotFound("no import with this id", code="import_not_found")
    return services.job_live(job)


class _ImportApi(APIView):
    queryset = ImportJob.objects.all()  # the model permissions of IsStaffWithModelPerms


def _too_large(size: int) -> Response:
    limit = services.max_bytes()
    return problem_response(status_code=413, code="file_too_large",
                            detail=f"the upload is {size} bytes; the limit is {limit}",
                            max_bytes=limit)


class ImportJobCreateApi(_ImportApi):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ImportJobIn},
                   responses={202: ImportJobOut, 400: OpenApiResponse(description="invalid"),
                              413: OpenApiResponse(description="file_too_large")})
    def post(self, request):
        # Refuse before reading the body when the client announced its size.
        try:
            announced = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            announced = 0
        if announced > services.max_bytes() + 64 * 1024:
            return _too_large(announced)
        data = ImportJobIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > services.max_bytes():
            return _too_large(upload.size)
        job = services.job_create(kind=data.validated_data["kind"],
                                  mode=data.validated_data["mode"], upload=upload,
                                  fmt=data.validated_data.get("format"), user=request.user)
        import_job_enqueue(job.pk)
        return Response(ImportJobOut(job).data, status=status.HTTP_202_ACCEPTED)


class ImportJobDetailApi(_ImportApi):
    @extend_schema(responses={200: ImportJobOut, 404: OpenApiResponse(description="not found")})
    def get(self, request, job_id: str):
        return Response(ImportJobOut(_job(job_id)).data)


class ImportJobCancelApi(_ImportApi):
    @extend_schema(request=None, responses={202: ImportJobOut,
                                            409: OpenApiResponse(description="finished")})
    def post(self, request, job_id: str):
        job = services.job_cancel(job=_job(job_id))
        return Response(ImportJobOut(job).data, status=status.HTTP_202_ACCEPTED)


class _CsvRenderer(BaseRenderer):
    """Lets ``?format=csv`` through negotiation; the view streams the CSV itself."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b""


class ImportJobErrorsApi(_ImportApi):
    renderer_classes = [JSONRenderer, _CsvRenderer]

    def handle_exception(self, exc):
        # A refusal is problem+json, even to a client that asked for the CSV.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(parameters=[OpenApiParameter("format", enum=["json", "csv"])],
                   responses={200: ImportRowErrorOut(many=True)})
    def get(self, request, job_id: str):
        job = _job(job_id)
        if request.query_params.get("format") == "csv":
            response = StreamingHttpResponse(services.failed_rows_csv(job),
                                             content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = (
                f'attachment; filename="{job.public_id}-failed-rows.csv"')
            return response
        paginator = LimitOffsetPage()
        page = paginator.paginate_queryset(job.row_errors.all(), request, view=self)
        return paginator.get_paginated_response(ImportRowErrorOut(page, many=True).data)
