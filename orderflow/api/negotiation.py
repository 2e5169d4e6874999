"""Content negotiation with a short way for what nearly every client sends."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_ANY = ("", "*/*")


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that a request with no ``Accept`` header, ``*/*`` or exactly
    the first renderer's media type, and no ``?format=``, gets the first renderer without
    parsing the header: the answer DRF's negotiation gives it, for less work on every
    request. Anything else is negotiated by DRF."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if not format_suffix and renderers and \
                self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            accept = request.META.get("HTTP_ACCEPT", "").strip()
            if accept in _ANY or accept == renderers[0].media_type:
                return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
