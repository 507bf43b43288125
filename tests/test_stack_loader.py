"""The stack-file reader and the config loader lose nothing and leak nothing: a key written twice
is refused with both lines, an alias bomb or an oversized file is refused in a line, and an error
under `pulumi up` (where secrets arrive decrypted) never prints the config or a secret."""

from __future__ import annotations

import contextvars
import json
from pathlib import Path

import pytest

from offline.stackfile import MAX_ALIASES, MAX_EXPANDED_NODES, STACK_FILE_MAX_BYTES, read_stack_file
from stackconfig import StackConfigError, load_from_runtime, load_stack_config

MINIMAL = "config:\n  gcp:project: omni-api-dev\n  omni-infra:environment: dev\n"


def refusal(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(StackConfigError) as caught:
        read_stack_file(path)
    return str(caught.value)


def test_a_section_written_twice_is_refused_with_both_lines_instead_of_keeping_the_last(tmp_path):
    # Last-wins would silently turn prod's `minInstances: 2` into 0.
    text = MINIMAL + "  omni-infra:api:\n    minInstances: 2\n  omni-infra:api:\n    maxInstances: 4\n"
    message = refusal(tmp_path, text)
    assert "omni-infra:api: found written twice, at lines 4 and 6" in message


def test_a_nested_key_written_twice_is_refused(tmp_path):
    message = refusal(tmp_path, MINIMAL + "  omni-infra:api:\n    minInstances: 2\n    minInstances: 0\n")
    assert "omni-infra:api.minInstances: found written twice, at lines 5 and 6" in message


def test_every_key_written_twice_is_reported_at_once(tmp_path):
    text = MINIMAL + "  omni-infra:api:\n    cpu: 2\n    cpu: 4\n  omni-infra:environment: prod\n"
    message = refusal(tmp_path, text)
    assert "2 invalid configuration values" in message
    assert "omni-infra:api.cpu: found written twice, at lines 5 and 6" in message
    assert "omni-infra:environment: found written twice, at lines 3 and 7" in message


def test_the_same_key_in_two_sections_is_fine(tmp_path):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(MINIMAL + "  omni-infra:api:\n    memory: 2Gi\n  omni-infra:workers:\n    memory: 2Gi\n")
    values, _ = read_stack_file(path)
    assert json.loads(values["omni-infra:api"]) == json.loads(values["omni-infra:workers"]) == {"memory": "2Gi"}


def test_a_few_aliases_still_work(tmp_path):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(MINIMAL + "  omni-infra:labels: &l {squad: core}\n  omni-infra:grafana:\n    enabled: true\n")
    values, _ = read_stack_file(path)
    assert json.loads(values["omni-infra:labels"]) == {"squad": "core"}


def test_an_alias_bomb_is_refused_in_one_short_line(tmp_path):
    layers = ["  a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"  {name}: &{name} [{', '.join([f'*{previous}'] * 9)}]"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    message = refusal(tmp_path, MINIMAL + "\n".join(layers) + "\n")
    assert f"more than {MAX_ALIASES} YAML aliases" in message
    assert len(message) < 400


def test_few_aliases_that_expand_to_too_much_are_refused(tmp_path):
    text = (
        MINIMAL
        + "  a: &a ["
        + ", ".join(["x"] * 200)
        + "]\n  b: &b ["
        + ", ".join(["*a"] * 8)
        + "]\n  c: ["
        + ", ".join(["*b"] * 8)
        + "]\n"
    )
    message = refusal(tmp_path, text)
    assert f"expand to more than {MAX_EXPANDED_NODES} values" in message
    assert len(message) < 400


def test_an_oversized_stack_file_is_refused_before_it_is_parsed(tmp_path):
    message = refusal(tmp_path, MINIMAL + "#" * STACK_FILE_MAX_BYTES)
    assert f"{STACK_FILE_MAX_BYTES // 1024} KiB at most" in message
    assert len(message) < 400


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    assert "not UTF-8" in refusal(tmp_path, MINIMAL.encode() + b"  # caf\xe9\n")


# --- under `pulumi up`: the program reads decrypted values from the runtime --------------------------

PLAINTEXT = "pd-PLANTED-plaintext-0123456789"


def under_pulumi_up(monkeypatch, values: dict[str, str], secret_keys: list[str]) -> str:
    """`load_from_runtime` as `pulumi up` runs it: the language host's config, secrets decrypted."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret_keys))
    with pytest.raises(StackConfigError) as caught:
        contextvars.Context().run(load_from_runtime, "dev")
    return str(caught.value)


def test_an_error_across_the_whole_config_never_prints_it_nor_a_decrypted_secret(monkeypatch):
    values = {
        "gcp:project": "omni-api-dev",
        "omni-infra:environment": "dev",
        "omni-infra:protect": "false",
        "pagerduty:token": PLAINTEXT,
        # A secret where none belongs, decrypted, and a refusal of the whole config (the budget).
        "omni-infra:labels": json.dumps({"owner": PLAINTEXT.lower()}),
        "omni-infra:grafana": json.dumps({"maxInstances": 10, "dbPoolSize": 20}),
        "omni-infra:database": json.dumps({"tier": "db-custom-1-3840", "availability": "ZONAL"}),
    }
    message = under_pulumi_up(monkeypatch, values, ["pagerduty:token", "omni-infra:labels"])
    assert "the connection budget does not fit" in message
    assert "omni-infra:api.maxInstances" in message
    assert "omni-infra:labels: found an encrypted value" in message
    assert PLAINTEXT not in message
    assert PLAINTEXT.lower() not in message
    assert "omni-api-dev" not in message  # nor any other value of the config as a whole


def test_a_conflict_involving_a_secret_key_withholds_the_reason(monkeypatch):
    values = {
        "gcp:project": "omni-api-dev",
        "omni-infra:environment": "dev",
        "omni-infra:protect": "false",
        "omni-infra:api": json.dumps({"minInstances": 3, "maxInstances": 2}),
    }
    message = under_pulumi_up(monkeypatch, values, ["omni-infra:api"])
    assert "omni-infra:api.minInstances, omni-infra:api.maxInstances: found api.minInstances = [secret]" in message
    assert "the reason is withheld" in message
    assert "minInstances 3" not in message


def test_a_fix_spanning_several_keys_names_each_key_s_command():
    values = {
        "gcp:project": "omni-api-dev",
        "omni-infra:environment": "dev",
        "omni-infra:protect": "false",
        "omni-infra:api": json.dumps({"minInstances": 3, "maxInstances": 2}),
    }
    with pytest.raises(StackConfigError) as caught:
        load_stack_config("dev", values, set())
    message = str(caught.value)
    assert "pulumi config set --path 'api.minInstances' <value> --stack dev" in message
    assert "pulumi config set --path 'api.maxInstances' <value> --stack dev" in message
    assert "several keys" not in message
    assert "'api' <value>" not in message


def test_the_load_test_stack_never_prints_its_config_nor_its_kubeconfig():
    from loadtest.stack_config import load_loadtest_config

    values = {
        "omni-loadtest:target": "https://api.staging.example.com",
        "omni-loadtest:kubeconfig": f"apiVersion: v1\ntoken: {PLAINTEXT}",
        "omni-loadtest:cluster": json.dumps({}),
    }
    with pytest.raises(StackConfigError) as caught:
        load_loadtest_config("staging", values, {"omni-loadtest:kubeconfig"})
    message = str(caught.value)
    assert "either a kubeconfig" in message
    assert PLAINTEXT not in message
    assert "api.staging.example.com" not in message
    assert "pulumi config set 'omni-loadtest (several keys)'" not in message
