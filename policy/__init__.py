"""The omni-infra policy pack: the rules (`policy.rules`), run by `omni check` over recorded
graphs and by `pulumi preview --policy-pack policy` through pulumi-policy (`__main__.py`)."""
