"""The audit trail's API routes, under /api/v1/ (see tradingsite/urls.py)."""

from django.urls import path

from audit import apis

urlpatterns = [
    path("audit/events", apis.AuditEventListApi.as_view(), name="audit-event-list"),
]
