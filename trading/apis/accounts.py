"""Accounts: list, read, risk limits (raised ones wait for approval), the kill switch and resuming."""

from decimal import Decimal

from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.apis.base import (
    BlankableText,
    BodyRequiredSchema,
    CanChangeAccounts,
    CanChangeOrders,
    CanViewAccounts,
    DecimalInput,
    amount_input,
    body_fields,
    schema_requires_any,
)
from trading.models import ApprovalRequest, TradingAccount
from trading.orders import approvals, selectors, services
from tradingsite.exceptions import ValidationError
from tradingsite.serializers import OutputSerializer


class AccountOutput(OutputSerializer):
    class Meta:
        model = TradingAccount
        fields = [
            "id",
            "name",
            "broker",
            "cash",
            "status",
            "status_reason",
            *TradingAccount.RISK_LIMIT_FIELDS,
            "created_at",
            "updated_at",
        ]


class ApprovalOutput(OutputSerializer):
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "account",
            "kind",
            "changes",
            "reason",
            "status",
            "requested_by",
            "decided_by",
            "decision_note",
            "created_at",
            "expires_at",
            "decided_at",
        ]


class PendingApprovalOutput(serializers.Serializer):
    account = AccountOutput()
    approval = ApprovalOutput()


class AccountListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewAccounts]

    @extend_schema(responses=AccountOutput(many=True))
    def get(self, request):
        return Response(AccountOutput(selectors.accounts_for_user(request.user), many=True).data)


class AccountDetailApi(APIView):
    permission_classes = [IsAuthenticated, CanViewAccounts]

    @extend_schema(responses=AccountOutput)
    def get(self, request, account_id: int):
        return Response(AccountOutput(selectors.account_for_user(request.user, account_id)).data)


CEILINGS = approvals.LIMIT_CEILINGS


class AccountLimitsApi(APIView):
    schema = BodyRequiredSchema()

    class InputSerializer(serializers.Serializer):
        # Each at most its ceiling (approvals.LIMIT_CEILINGS), which fits the account's column.
        max_order_quantity = serializers.IntegerField(
            min_value=1, max_value=CEILINGS["max_order_quantity"], required=False
        )
        max_order_value = amount_input(CEILINGS["max_order_value"], required=False)
        price_band_percent = amount_input(CEILINGS["price_band_percent"], required=False)
        max_position_value = amount_input(CEILINGS["max_position_value"], required=False)
        max_gross_exposure = amount_input(CEILINGS["max_gross_exposure"], required=False)
        mis_leverage = DecimalInput(
            max_digits=4,
            decimal_places=2,
            min_value=Decimal("1"),
            max_value=CEILINGS["mis_leverage"],
            pattern=r"^(?:(?:[1-9]|[1-4]\d)(?:\.\d{1,2})?|50(?:\.0{1,2})?)$",
            required=False,
        )
        daily_loss_limit = amount_input(CEILINGS["daily_loss_limit"], required=False)
        daily_loss_action = serializers.ChoiceField(choices=["reducing", "halted"], required=False)
        max_orders_per_second = serializers.IntegerField(
            min_value=1, max_value=CEILINGS["max_orders_per_second"], required=False
        )

    permission_classes = [IsAuthenticated, CanChangeAccounts]

    @extend_schema(
        request=InputSerializer,
        responses={200: AccountOutput, 202: PendingApprovalOutput},
        description="Lower limits apply at once (200). Raised limits wait for a second person with the ops or "
        "admin role to approve them (202, with the request); lower ones in the same call still apply at once.",
    )
    def patch(self, request, account_id: int):
        account = selectors.account_for_user(request.user, account_id)
        data = self.InputSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise ValidationError("name at least one limit to change")
        account, approval = approvals.account_limits_change(
            account=account, changes=data.validated_data, changed_by=request.user
        )
        if approval is None:
            return Response(AccountOutput(account).data)
        return Response({"account": AccountOutput(account).data, "approval": ApprovalOutput(approval).data}, status=202)


class ReasonSerializer(serializers.Serializer):
    reason = BlankableText(max_length=200, required=False, default="")


class AccountHaltApi(APIView):
    permission_classes = [IsAuthenticated, CanChangeOrders]

    @extend_schema(request=ReasonSerializer, responses=AccountOutput)
    def post(self, request, account_id: int):
        account = selectors.account_for_user(request.user, account_id)
        data = ReasonSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        reason = data.validated_data["reason"] or "kill switch"
        services.account_halt(account=account, reason=reason, halted_by=request.user)
        account.refresh_from_db()
        return Response(AccountOutput(account).data)


class AccountResumeApi(APIView):
    permission_classes = [IsAuthenticated, CanChangeAccounts]

    @extend_schema(
        request=ReasonSerializer,
        responses={202: PendingApprovalOutput},
        description="Asks to resume a halted or reducing account; it resumes when a second person with the ops "
        "or admin role approves.",
    )
    def post(self, request, account_id: int):
        account = selectors.account_for_user(request.user, account_id)
        data = ReasonSerializer(data=body_fields(request))
        data.is_valid(raise_exception=True)
        approval = approvals.account_resume_request(
            account=account, requested_by=request.user, reason=data.validated_data["reason"]
        )
        return Response({"account": AccountOutput(account).data, "approval": ApprovalOutput(approval).data}, status=202)


schema_requires_any(AccountLimitsApi.InputSerializer, *([name] for name in TradingAccount.RISK_LIMIT_FIELDS))
