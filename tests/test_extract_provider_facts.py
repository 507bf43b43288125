"""The provider-facts extraction reads the Go schema as the provider declares it: ForceNew,
Required, MaxItems, enum validations (on fields and list elements), nested blocks reached
through functions and variables, IAM member schemas, and ForceNewIfChange rules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("extract_provider_facts", ROOT / "scripts" / "extract_provider_facts.py")
assert spec is not None
assert spec.loader is not None
extract = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = extract  # dataclasses look their module up while the class is made
spec.loader.exec_module(extract)

CACHE_GO = """
package redis

// A comment with a brace { that must not count.
func isVersionDecreasing(_ context.Context, old, new, _ interface{}) bool { return false }

var flagElem *schema.Resource = &schema.Resource{
	Schema: map[string]*schema.Schema{
		"name": {Type: schema.TypeString, Required: true},
	},
}

func windowSchema() *schema.Resource {
	return &schema.Resource{
		Schema: map[string]*schema.Schema{
			"day": {
				Type:         schema.TypeString,
				Required:     true,
				ValidateFunc: verify.ValidateEnum([]string{"MONDAY", "TUESDAY", ""}),
			},
		},
	}
}

func ResourceCache() *schema.Resource {
	return &schema.Resource{
		CustomizeDiff: customdiff.All(
			customdiff.ForceNewIfChange("version", isVersionDecreasing),
		),
		Schema: map[string]*schema.Schema{
			"name": {Type: schema.TypeString, Required: true, ForceNew: true, Description: `"q" }`},
			"mode": {
				Type:         schema.TypeString,
				Optional:     true,
				ValidateFunc: validation.StringInSlice([]string{"A", "B"}, false),
			},
			"zones": {
				Type:     schema.TypeList,
				Optional: true,
				MaxItems: 3,
				Elem: &schema.Schema{
					Type:         schema.TypeString,
					ValidateFunc: verify.ValidateEnum([]string{"a", "b"}),
				},
			},
			"window": {Type: schema.TypeList, Optional: true, MaxItems: 1, Elem: windowSchema()},
			"flags": {Type: schema.TypeList, Optional: true, Elem: flagElem},
			"host": {Type: schema.TypeString, Computed: true},
		},
	}
}

func init() {
	registry.Schema{
		Name:   "google_cache",
		Type:   registry.SchemaTypeResource,
		Schema: ResourceCache(),
	}.Register()
}
"""


def read(source: str) -> tuple[dict, str]:
    index = extract.Index()
    index.add(extract.GoFile("google-beta/services/redis/resource_cache.go", source, extract.mask_go(source)))
    [(name, expression)] = extract.registered_resources(index).items()
    assert name == "google_cache"
    return extract.SchemaReader(index).resource(expression)


def test_field_facts_are_read_from_the_schema_literal():
    fields, _ = read(CACHE_GO)
    assert fields["name"].required
    assert fields["name"].force_new
    assert not fields["mode"].force_new
    assert fields["mode"].enum == ["A", "B"]
    assert fields["zones"].max_items == 3
    assert fields["zones"].enum == ["a", "b"]  # validated per element
    assert not fields["host"].optional  # output only: never an input


def test_nested_blocks_are_followed_through_functions_and_variables():
    fields, _ = read(CACHE_GO)
    assert fields["window"].children["day"].enum == ["MONDAY", "TUESDAY"]  # "" only allows empty
    assert fields["window"].children["day"].required
    assert fields["flags"].children["name"].required


def test_force_new_if_change_rules_are_named():
    _, custom = read(CACHE_GO)
    assert [(m["path"], m["rule"]) for m in extract.FORCE_NEW_IF.finditer(custom)] == [
        ("version", "isVersionDecreasing")
    ]


def test_case_insensitive_enums_are_not_recorded_as_exact():
    assert extract.enum_values('validation.StringInSlice([]string{"a", "b"}, true)') is None
    assert extract.enum_values('verify.ValidateEnum([]string{"X", ""})') == ["X"]
