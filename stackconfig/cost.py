"""The stack's Cloud Billing budget (stack key `cost`): on which billing account, how much a
month, at which shares of it a ticket opens.

The budget is off while `billingAccount` is unset (dev): a budget lives on the billing account,
outside the project, and needs a person's grant there (docs/cost.md).
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from .model_base import ConfigModel

# Cloud Billing account ids: three groups of six upper-case hex digits (`012345-6789AB-CDEF01`).
BILLING_ACCOUNT = r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$"


class CostSettings(ConfigModel):
    """The stack's monthly budget and the thresholds that open tickets."""

    billing_account: str | None = Field(
        default=None,
        pattern=BILLING_ACCOUNT,
        description=(
            "The Cloud Billing account paying for the project, like 012345-6789AB-CDEF01 "
            "(`gcloud billing accounts list`). Unset: no budget (dev). The deployer needs Billing "
            "Account Costs Manager on it (docs/cost.md)."
        ),
    )
    monthly_budget: float | None = Field(
        default=None,
        gt=0,
        description=(
            "The budget a month, in the billing account's currency (USD for the estimate's comparison). "
            "Required with billingAccount; `omni cost` and `omni check` warn when the estimate already exceeds it."
        ),
    )
    actual_thresholds: list[float] = Field(
        default=[0.5, 0.9, 1.0],
        min_length=1,
        description="Shares of the budget actually spent at which a ticket opens (0.5 = 50%).",
    )
    forecast_thresholds: list[float] = Field(
        default=[1.0],
        description="Shares of the budget the month's forecast may reach before a ticket opens.",
    )
    notify_billing_admins: bool = Field(
        default=False,
        description=(
            "Also email the billing account's admins and users (Google's default recipients). Off: "
            "the team's ticket queue is the one route, and a shared account's admins are not mailed "
            "for every stack."
        ),
    )

    @field_validator("actual_thresholds", "forecast_thresholds")
    @classmethod
    def _positive_shares(cls, shares: list[float]) -> list[float]:
        for share in shares:
            if not 0 < share <= 10:
                raise ValueError(f"{share} is not a share of the budget between 0 and 10 (0.5 = 50%)")
        return sorted(set(shares))

    @model_validator(mode="after")
    def _budget_with_account(self) -> CostSettings:
        if self.billing_account and self.monthly_budget is None:
            raise ValueError("cost.monthlyBudget is required with cost.billingAccount (the budget a month, e.g. 2500)")
        return self

    @property
    def enabled(self) -> bool:
        return self.billing_account is not None
