"""Grafana dashboards as code (grafanalib), rendered per stack and linted.

Public API: `dashboards.render.render_for(facts) -> {"<uid>.json": JSON text}` (from a stack file:
`offline.dashboards.render_dashboards(stack, project_dir)`),
`offline.dashboards.write_dashboards(out_dir, stack, project_dir)`, `dashboards.lint.lint_dashboard`
and `lint_dashboards`, `dashboards.style.DATASOURCE_UID`. See docs/dashboards.md.
"""
