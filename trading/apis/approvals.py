"""Approvals of raised limits and resumed accounts: list, read, approve, reject (a second person)."""

from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.apis.accounts import ApprovalOutput
from trading.apis.base import BlankableText, Pagination, body_fields, paginated, query_params
from trading.models import ApprovalRequest
from trading.orders import approvals


class ApprovalFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=ApprovalRequest.Status.choices, required=False)


class ApprovalListApi(APIView):
    """Requests waiting for a second person: approvers (ops, admin) see all; others see their accounts' own."""

    pagination_class = Pagination
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[ApprovalFilters], responses=ApprovalOutput(many=True))
    def get(self, request):
        found = approvals.approvals_for_user(request.user)
        status = query_params(ApprovalFilters, request).get("status")
        if status:
            found = found.filter(status=status)
        return paginated(self, request, found, ApprovalOutput)


class ApprovalDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ApprovalOutput)
    def get(self, request, approval_id: int):
        return Response(ApprovalOutput(approvals.approval_for_user(request.user, approval_id)).data)


class DecisionSerializer(serializers.Serializer):
    note = BlankableText(max_length=200, required=False, default="")


class ApprovalApproveApi(APIView):
    # The request is looked up first (another user's is a 404); approval_decide then needs the approve permission.
    permission_classes = [IsAuthenticated]
    approve = True

    @extend_schema(request=DecisionSerializer, responses=ApprovalOutput)
    def post(self, request, approval_id: int):
        approval = approvals.approval_for_user(request.user, approval_id)
        data = DecisionSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        approval = approvals.approval_decide(
            approval_id=approval.pk, decided_by=request.user, approve=self.approve, note=data.validated_data["note"]
        )
        return Response(ApprovalOutput(approval).data)


class ApprovalRejectApi(ApprovalApproveApi):
    approve = False
