"""The audit trail over the API, for compliance tools: read-only, for roles that may view it."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.views import APIView

from audit.exports import COLUMNS
from audit.models import AuditEvent
from tradingsite.serializers import OutputSerializer


class CanViewAudit(BasePermission):
    message = "reading the audit trail needs the compliance or admin role (audit.view_auditevent)"

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("audit.view_auditevent"))


class AuditEventOutput(OutputSerializer):
    class Meta:
        model = AuditEvent
        fields = list(COLUMNS)  # the hashed content, then prev_hash and hash: what an export holds


class AuditEventFilters(serializers.Serializer):
    actor = serializers.CharField(required=False, max_length=150)
    action = serializers.CharField(required=False, max_length=64, help_text="An action, or a prefix ending in '.'")
    object_type = serializers.CharField(required=False, max_length=64)
    object_id = serializers.CharField(required=False, max_length=64)
    since = serializers.DateTimeField(required=False, help_text="From (inclusive).")
    until = serializers.DateTimeField(required=False, help_text="To (exclusive).")
    after_sequence = serializers.IntegerField(required=False, min_value=0, help_text="Only rows after this one.")


class AuditPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


def audit_events_filtered(
    *, actor=None, action=None, object_type=None, object_id=None, since=None, until=None, after_sequence=None
):
    # Linked rows only: each has its place in the chain, so `after_sequence` pages through without gaps
    # (a row still waiting for the sequencer appears once it is linked, after the rows before it).
    events = AuditEvent.objects.filter(sequence__isnull=False)
    if actor:
        events = events.filter(actor=actor)
    if action:
        events = events.filter(action__startswith=action) if action.endswith(".") else events.filter(action=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    if after_sequence is not None:
        events = events.filter(sequence__gt=after_sequence)
    return events


class AuditEventListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewAudit]
    pagination_class = AuditPagination

    @extend_schema(parameters=[AuditEventFilters], responses=AuditEventOutput(many=True))
    def get(self, request):
        params = AuditEventFilters(data=request.query_params)
        params.is_valid(raise_exception=True)
        events = audit_events_filtered(**params.validated_data).order_by("sequence")
        paginator = AuditPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventOutput(page, many=True).data)
