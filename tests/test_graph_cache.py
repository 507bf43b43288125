"""Graphs reused between commands (`omni diff --all` then `omni check`): only while nothing a
run reads has changed."""

from __future__ import annotations

import pytest

from offline import graph_cache

PROGRAM = """
import pulumi_gcp as gcp
gcp.compute.Network("net", auto_create_subnetworks=False)
"""
STACK_FILE = """
config:
  gcp:project: probe-project
"""


@pytest.fixture
def cached_project(make_project, monkeypatch):
    monkeypatch.setenv("OMNI_GRAPH_CACHE", "on")
    monkeypatch.delenv("OMNI_GRAPH_CACHE_DIR", raising=False)
    graph_cache._tree_digest.cache_clear()
    project = make_project(PROGRAM, STACK_FILE)
    graph_cache.store(project.root, "test", True, {"resources": ["stored"]})
    yield project
    graph_cache._tree_digest.cache_clear()


def test_a_stored_graph_is_reused_while_the_project_is_unchanged(cached_project):
    assert graph_cache.load(cached_project.root, "test", True) == {"resources": ["stored"]}
    assert graph_cache.load(cached_project.root, "test", False) is None  # a simulated apply is another graph
    assert graph_cache.load(cached_project.root, "other", True) is None


@pytest.mark.parametrize("edited", ["__main__.py", "stacks/Pulumi.test.yaml", "components/new.py"])
def test_any_change_to_a_file_a_run_reads_is_a_miss(cached_project, edited):
    path = cached_project.root / edited
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((path.read_text() if path.exists() else "") + "\n# edited\n")
    graph_cache._tree_digest.cache_clear()  # a new process computes the digest afresh
    assert graph_cache.load(cached_project.root, "test", True) is None


def test_the_cache_can_be_switched_off(cached_project, monkeypatch):
    monkeypatch.setenv("OMNI_GRAPH_CACHE", "off")
    assert graph_cache.load(cached_project.root, "test", True) is None
