"""A Cloud Billing budget per stack: the month's spend of the stack's project against an amount,
with thresholds that open tickets through the alert routing's ticket channel.

The budget lives on the billing account, not in the project: the deployer needs Billing Account
Costs Manager there, granted by a person (docs/cost.md), and the project needs the Billing
Budget API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

REQUIRED_APIS = ("billingbudgets.googleapis.com",)
# Cloud Billing takes at most five monitoring channels per budget.
MAX_CHANNELS = 5


@dataclass
class BudgetArgs:
    billing_account: str
    """The Cloud Billing account id (`012345-6789AB-CDEF01`) that pays for the project."""
    project: str
    """The project the budget watches (its id; the filter takes its number, looked up here)."""
    monthly_amount: float
    """The budget a month, in the billing account's currency."""
    ticket_channels: list[pulumi.Input[str]]
    """Monitoring notification channels that open a ticket (the alert routing's ticket queue)."""
    actual_thresholds: tuple[float, ...] = (0.5, 0.9, 1.0)
    """Shares of the amount actually spent that notify: 50 %, 90 % and 100 % by default."""
    forecast_thresholds: tuple[float, ...] = (1.0,)
    """Shares of the amount the month's forecast may reach before it notifies."""
    notify_billing_admins: bool = False
    """Google's default recipients (billing admins and users) too; off: the ticket queue is the one
    route, and a shared billing account's admins are not mailed for every stack."""


def threshold_rules(
    actual: tuple[float, ...], forecast: tuple[float, ...]
) -> list[gcp.billing.BudgetThresholdRuleArgs]:
    return [
        *(
            gcp.billing.BudgetThresholdRuleArgs(threshold_percent=share, spend_basis="CURRENT_SPEND")
            for share in actual
        ),
        *(
            gcp.billing.BudgetThresholdRuleArgs(threshold_percent=share, spend_basis="FORECASTED_SPEND")
            for share in forecast
        ),
    ]


def specified_amount(amount: float) -> gcp.billing.BudgetAmountSpecifiedAmountArgs:
    """Whole units and nanos, as the Billing Budget API's Money takes them; no currency code, so
    the billing account's own currency applies (a different one is refused by the API)."""
    nanos, units = math.modf(amount)
    return gcp.billing.BudgetAmountSpecifiedAmountArgs(units=str(int(units)), nanos=round(nanos * 1e9))


class Budget(pulumi.ComponentResource):
    """One monthly budget on the stack's project."""

    budget_name: pulumi.Output[str]

    def __init__(self, name: str, args: BudgetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:cost:Budget", name, None, opts)
        if not args.ticket_channels:
            raise ValueError("the budget needs the ticket channel of the alert routing (alerting.ticketEmail)")
        if len(args.ticket_channels) > MAX_CHANNELS:
            raise ValueError(f"a budget notifies at most {MAX_CHANNELS} channels, not {len(args.ticket_channels)}")
        project_number = gcp.organizations.get_project_output(
            project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        ).number
        budget = gcp.billing.Budget(
            f"{name}-budget",
            billing_account=args.billing_account,
            display_name=f"{name} monthly budget",
            amount=gcp.billing.BudgetAmountArgs(specified_amount=specified_amount(args.monthly_amount)),
            budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                projects=[project_number.apply(lambda number: f"projects/{number}")],
                calendar_period="MONTH",
                credit_types_treatment="INCLUDE_ALL_CREDITS",
            ),
            threshold_rules=threshold_rules(args.actual_thresholds, args.forecast_thresholds),
            all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                monitoring_notification_channels=args.ticket_channels,
                disable_default_iam_recipients=not args.notify_billing_admins,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.budget_name = budget.name
        self.register_outputs({"budget_name": self.budget_name})
