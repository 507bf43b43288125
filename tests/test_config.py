"""Bad stack config stops the run before any resource is declared, naming the file, the key,
the bad value and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import Field, SecretStr

from offline.engine import new_monitor, run_stack
from offline.graph import STACK_TYPE
from offline.stackfile import SECRET_PLACEHOLDER, read_stack_file
from stackconfig import StackConfig, StackConfigError, load_stack_config

from .conftest import edit_stack_file


def failing_run(project, stack="dev") -> tuple[StackConfigError, list]:
    """Run the real program with a bad stack file; return the error and what got declared."""
    values, _ = read_stack_file(project.stack_file(stack)) if project.stack_file(stack).is_file() else ({}, set())
    monitor = new_monitor(values)
    with pytest.raises(StackConfigError) as caught:
        run_stack(project, stack, monitor=monitor)
    declared = [r for r in monitor.recorded if r.type != STACK_TYPE]
    return caught.value, declared


BAD_VALUES = [
    # (old text, new text, key named, words that must appear in the fix)
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: qa",
        "omni-infra:environment",
        ["'dev', 'staging' or 'prod'", "'qa'"],
    ),
    (
        "flowLogsSampling: 0.1",
        "flowLogsSampling: 0.1\n    subnetCidr: 10.10.0.0/28",
        "omni-infra:network.subnetCidr",
        ["/26 or larger", "--path 'network.subnetCidr'"],
    ),
    (
        "flowLogsSampling: 0.1",
        "flowLogsSampling: 0.1\n    subnetCidr: 8.8.0.0/20",
        "omni-infra:network.subnetCidr",
        ["must lie inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10"],
    ),
    (
        "flowLogsSampling: 0.1",
        "flowLogsSampling: 0.1\n    subnetCidr: 169.254.0.0/20",
        "omni-infra:network.subnetCidr",
        ["must lie inside"],
    ),
    (
        "flowLogsSampling: 0.1",
        "flowLogsSampling: 0.1\n    privateServicesPrefixLength: 12",
        "omni-infra:network.privateServicesPrefixLength",
        ["greater than or equal to 16"],
    ),
    (
        "flowLogsSampling: 0.1",
        "flowLogsSampling: 0.1\n    natLogFilter: SOME",
        "omni-infra:network.natLogFilter",
        ["'ERRORS_ONLY', 'TRANSLATIONS_ONLY' or 'ALL'"],
    ),
    (
        "flowLogsSampling: 0.1",
        "flowLogsSampling: 0.1\n    natEnabled: perhaps",
        "omni-infra:network.natEnabled",
        ["valid boolean"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  gcp:region: Europe",
        "gcp:region",
        ["should match pattern"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:namePrefix: x",
        "omni-infra:namePrefix",
        ["should match pattern"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:labels:\n    Team: core",
        "omni-infra:labels",
        ["label key 'Team'"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:labels:\n    squad: Core Team",
        "omni-infra:labels",
        ["label value 'Core Team'"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:labels:\n    environment: prod",
        "omni-infra:labels",
        ["label 'environment' is set by the program"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: staging",
        "omni-infra:environment",
        ["the dev stack must be the dev environment"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:project: elsewhere-123",
        "omni-infra:project",
        ["set `gcp:project` instead"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  gcp:zone: europe-west1-b",
        "gcp:zone",
        ["explicit provider ignores", "pulumi config rm 'gcp:zone'"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:namePrefix:\n    secure: v1:abc",
        "omni-infra:namePrefix",
        ["not a secret", "set it without --secret"],
    ),
    (
        "flowLogsSampling: 0.1",
        "flowLogsSampling: 0.1\n    subnetCidr: not-a-cidr",
        "omni-infra:network.subnetCidr",
        ["IPv4 network"],
    ),
    (
        "flowLogsSampling: 0.1",
        "flowLogsSampling: 1.5",
        "omni-infra:network.flowLogsSampling",
        ["less than or equal to 1", "default: 0.5"],
    ),
    ("flowLogsSampling: 0.1", "flowLogsSampling: lots", "omni-infra:network.flowLogsSampling", ["valid number"]),
    (
        "flowLogsSampling: 0.1",
        "flowLogsSampling: 0.1\n    subnetCidrs: 10.0.0.0/8",
        "omni-infra:network.subnetCidrs",
        ["unknown key", "subnetCidr", "pulumi config rm --path"],
    ),
    ("omni-infra:protect: false", "omni-infra:protect: maybe", "omni-infra:protect", ["valid boolean"]),
    (
        "gcp:project: omni-api-dev",
        "gcp:project: Omni_API",
        "gcp:project",
        ["should match pattern", "pulumi config set 'gcp:project'"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:replicas: 3",
        "omni-infra:replicas",
        ["unknown key", "environment"],
    ),
    (
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infr:network: {}",
        "omni-infr:network",
        ["unknown config namespace"],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "fix_words"),
    BAD_VALUES,
    ids=[case[2] + ":" + case[1].split(":")[-1].strip()[:12] for case in BAD_VALUES],
)
def test_bad_value_names_file_key_value_and_fix_and_declares_nothing(project_copy, old, new, key, fix_words):
    edit_stack_file(project_copy, "dev", old, new)
    error, declared = failing_run(project_copy)
    message = str(error)
    assert (
        message.startswith(f"{project_copy.stack_file('dev').relative_to(project_copy.root)}:")
        or "Pulumi.dev.yaml" in message
    )
    assert "no resource was declared" in message
    assert f"  {key}: found " in message
    for words in fix_words:
        assert words in message, f"{words!r} missing from:\n{message}"
    assert declared == []


def test_several_problems_are_reported_together(project_copy):
    edit_stack_file(project_copy, "dev", "omni-infra:environment: dev", "omni-infra:environment: qa")
    edit_stack_file(project_copy, "dev", "flowLogsSampling: 0.1", "flowLogsSampling: 7")
    error, _ = failing_run(project_copy)
    assert [p.key for p in error.problems] == ["omni-infra:environment", "omni-infra:network.flowLogsSampling"]
    assert "2 invalid configuration values" in str(error)


def test_missing_required_value_says_how_to_set_it(project_copy):
    edit_stack_file(project_copy, "dev", "  gcp:project: omni-api-dev\n", "")
    error, declared = failing_run(project_copy)
    assert "gcp:project: found (missing)" in str(error)
    assert "pulumi config set 'gcp:project' <value> --stack dev" in str(error)
    assert declared == []


def test_prod_cannot_be_unprotected(project_copy):
    edit_stack_file(
        project_copy,
        "prod",
        "omni-infra:environment: prod",
        "omni-infra:environment: prod\n  omni-infra:protect: false",
    )
    error, declared = failing_run(project_copy, "prod")
    assert "omni-infra:protect: found False" in str(error)
    assert "prod must keep protect true" in str(error)
    assert declared == []


def test_missing_stack_file_lists_the_existing_ones(project_copy):
    with pytest.raises(StackConfigError) as caught:
        run_stack(project_copy, "qa")
    message = str(caught.value)
    assert "Pulumi.qa.yaml" in message
    assert "no such file" in message
    assert "Pulumi.dev.yaml, Pulumi.prod.yaml, Pulumi.staging.yaml" in message
    assert "pulumi stack init qa" in message


def test_malformed_yaml_names_the_line(project_copy):
    path: Path = project_copy.stack_file("dev")
    path.write_text("config:\n  omni-infra:environment: dev\n    broken: [\n")
    with pytest.raises(StackConfigError) as caught:
        run_stack(project_copy, "dev")
    assert "malformed YAML at line 3" in str(caught.value)


def test_unknown_top_level_key_in_stack_file(project_copy):
    path: Path = project_copy.stack_file("dev")
    path.write_text(path.read_text() + "confg:\n  x: 1\n")
    with pytest.raises(StackConfigError, match="confg: found an unknown top-level key"):
        run_stack(project_copy, "dev")


class WithSecret(StackConfig):
    """A model with a required secret, as a later component will declare one."""

    api_signing_key: SecretStr = Field(description="signs the API's session tokens")


BASE = {"gcp:project": "omni-api-dev", "omni-infra:environment": "dev", "omni-infra:protect": "false"}


def test_missing_required_secret_says_to_set_it_with_secret():
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("dev", BASE, set(), model=WithSecret)
    message = str(caught.value)
    assert "omni-infra:apiSigningKey: found (missing)" in message
    assert "a required secret (signs the API's session tokens)" in message
    assert "pulumi config set --secret 'apiSigningKey' <value> --stack dev" in message


def test_secret_given_in_plain_text_is_refused_without_echoing_it():
    values = {**BASE, "omni-infra:apiSigningKey": "hunter2-plaintext"}
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("dev", values, set(), model=WithSecret)
    assert "must be encrypted" in str(caught.value)
    assert "hunter2-plaintext" not in str(caught.value)


def test_encrypted_secret_is_accepted_and_masked():
    values = {**BASE, "omni-infra:apiSigningKey": "s3cret"}
    config = load_stack_config("dev", values, {"omni-infra:apiSigningKey"}, model=WithSecret)
    assert config.api_signing_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config)


def test_invalid_secret_value_is_never_echoed():
    class ShortSecret(StackConfig):
        api_signing_key: SecretStr = Field(min_length=32)

    values = {**BASE, "omni-infra:apiSigningKey": "tooshort"}
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("dev", values, {"omni-infra:apiSigningKey"}, model=ShortSecret)
    assert "found [secret]" in str(caught.value)
    assert "tooshort" not in str(caught.value)


def test_secure_values_are_masked_when_the_stack_file_is_read(tmp_path):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(
        "config:\n  omni-infra:key:\n    secure: v1:abc\n  omni-infra:nested:\n    inner:\n      secure: "
        "v1:def\n  omni-infra:plain: 3\n"
    )
    values, secret_keys = read_stack_file(path)
    assert values == {
        "omni-infra:key": SECRET_PLACEHOLDER,
        "omni-infra:nested": json.dumps({"inner": SECRET_PLACEHOLDER}),
        "omni-infra:plain": "3",
    }
    assert secret_keys == {"omni-infra:key", "omni-infra:nested"}


def test_defaults_are_the_production_safe_choice():
    config = StackConfig.model_validate({"project": "omni-api-prod", "environment": "prod"})
    assert config.protect is True
    assert config.network.nat_enabled is True
    assert config.network.private_services_prefix_length == 16
    assert config.network.flow_logs_sampling > 0
    for name, field in StackConfig.model_fields.items():
        assert field.description, f"StackConfig.{name} has no description"
    for name, field in type(config.network).model_fields.items():
        assert field.description, f"NetworkConfig.{name} has no description"


def _leaf_keys(model: type, defaults: object = None, prefix: str = "") -> dict[str, object]:
    """Every config key of a model as written in a stack file, with its effective default
    (a section's own default instance wins over its class's field defaults)."""
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    from stackconfig.loader import PROVIDER_FIELDS

    provider_keys = {field: key for key, field in PROVIDER_FIELDS.items()}
    keys: dict[str, object] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if defaults is not None:
            default = getattr(defaults, name)
        elif field.default_factory is not None:
            default = field.default_factory()  # type: ignore[call-arg]
        else:
            default = None if field.default is PydanticUndefined else field.default
        if not prefix and name in provider_keys:
            keys[provider_keys[name]] = default
            continue
        full = f"{prefix}.{key}" if prefix else f"omni-infra:{key}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.update(_leaf_keys(annotation, default, full))
        else:
            keys[full] = default
    return keys


def test_the_configuration_reference_documents_every_config_key_with_its_default():
    reference = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip()
        for line in reference.splitlines()
        if line.startswith("| `")
    }
    for key, default in _leaf_keys(StackConfig).items():
        assert key in rows, f"docs/configuration.md's table lacks {key}"
        if default is not None and default != {}:
            if isinstance(default, bool):
                shown = str(default).lower()
            elif isinstance(default, list):
                shown = json.dumps(default)
            else:
                shown = str(default)
            assert shown in rows[key], f"docs/configuration.md says {rows[key]} for {key}, the model says {default!r}"


def test_a_value_stored_encrypted_is_never_echoed_whatever_its_key():
    # A typo in a secret's key, or a secret in the wrong field, must not print the plaintext.
    values = {**BASE, "omni-infra:dbPasword": "correct-horse-battery", "omni-infra:labels": '{"team": "S3CRET-Value"}'}
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("dev", values, {"omni-infra:dbPasword", "omni-infra:labels"})
    message = str(caught.value)
    assert "omni-infra:dbPasword: found [secret]" in message
    assert "omni-infra:labels: found [secret]" in message
    assert "correct-horse-battery" not in message
    assert "S3CRET" not in message


def test_yaml_scalars_keep_the_meaning_pulumi_gives_them(project_copy):
    # YAML 1.1 would turn `off` into False and a date into a date object; Pulumi reads text.
    edit_stack_file(
        project_copy,
        "dev",
        "omni-infra:environment: dev",
        "omni-infra:environment: dev\n  omni-infra:labels:\n    release: 2024-01-01\n    switch: off",
    )
    graph = run_stack(project_copy, "dev").to_json()
    provider = next(r for r in graph["resources"] if r["type"] == "pulumi:providers:gcp")
    labels = json.loads(provider["inputs"]["defaultLabels"])
    assert labels["release"] == "2024-01-01"
    assert labels["switch"] == "off"


def test_real_regions_with_two_digit_numbers_are_accepted():
    config = load_stack_config("dev", {**BASE, "gcp:region": "europe-west10"}, set())
    assert config.region == "europe-west10"


def test_shared_address_space_is_a_valid_subnet():
    config = load_stack_config("dev", {**BASE, "omni-infra:network": '{"subnetCidr": "100.64.0.0/20"}'}, set())
    assert config.network.subnet_cidr == "100.64.0.0/20"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config: [1, 2]\n", "config: found list"),
        ("config:\n  environment: dev\n", "environment: found a key without a namespace"),
        ("- just\n- a list\n", "(stack file): found list"),
    ],
)
def test_malformed_stack_file_structure(project_copy, text, message):
    project_copy.stack_file("dev").write_text(text)
    with pytest.raises(StackConfigError) as caught:
        run_stack(project_copy, "dev")
    assert message in str(caught.value)
