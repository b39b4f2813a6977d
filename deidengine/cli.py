"""The ``deid`` command: thin verbs over the library. Every verb calls one documented function.

Choice of library: click (argument parsing, well kept, already a dependency of many tools)
and rich (tables and progress on a terminal).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from deidengine import __version__
from deidengine.policy import (
    PolicyError,
    check_policy,
    explain_json,
    explain_plan,
    load_plan,
    shipped_policy_names,
)
from deidengine.policy.diagnostics import has_errors

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deid")
def main() -> None:
    """deidengine: rules-based de-identification of DICOM files and trees."""


# ----------------------------------------------------------------------------- policy
@main.group()
def policy() -> None:
    """Check, explain and compile policies."""


@policy.command("list")
def policy_list() -> None:
    """List the shipped policies."""
    for name in shipped_policy_names():
        click.echo(name)


@policy.command("check")
@click.argument("specs", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def policy_check(specs: tuple[str, ...], fmt: str) -> None:
    """Check policies; exit 0 when every one is clean.

    SPECS are shipped names (annex-e/basic), paths, or comma lists composed in order.
    """
    failed = False
    report: dict[str, list[dict[str, object]]] = {}
    for spec in specs:
        diagnostics = check_policy(spec)
        failed = failed or has_errors(diagnostics)
        report[spec] = [d.to_json() for d in diagnostics]
        if fmt == "text":
            for diagnostic in diagnostics:
                click.echo(diagnostic.render(), err=True)
            if not diagnostics:
                click.echo(f"{spec}: ok")
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


def _load_or_exit(spec: str, runnable: bool = False) -> object:
    try:
        return load_plan(spec, runnable=runnable)
    except PolicyError as error:
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
        sys.exit(EXIT_FINDINGS)


@policy.command("explain")
@click.argument("spec")
@click.option("--tag", help="Explain one element: (0010,0010), 00100010 or a keyword.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def policy_explain(spec: str, tag: str | None, fmt: str) -> None:
    """Show the winning rule for every selector the policy names, and why."""
    from deidengine.policy.plan import Plan

    plan = _load_or_exit(spec)
    assert isinstance(plan, Plan)
    if fmt == "json":
        click.echo(json.dumps(explain_json(plan, tag), indent=2))
        return
    rows = explain_plan(plan, tag)
    if tag is not None and not rows:
        click.echo(f"no rule of {spec} selects {tag}: it is kept unchanged", err=True)
        sys.exit(EXIT_FINDINGS)
    click.echo(f"# policy {', '.join(plan.names)}  codes {' '.join(plan.codes)}")
    for row in rows:
        name = row.selector + (
            f" {row.keyword}" if row.keyword and row.keyword not in row.selector else ""
        )
        line = f"{name:<62} {row.action:<14} {row.source}"
        if row.section:
            line += f"  [{row.section}]"
        click.echo(line)
        for conditional in row.conditions:
            click.echo(
                f"    when {conditional.when} -> {conditional.action}  ({conditional.source})"
            )
        for beaten in row.overrides:
            click.echo(f"    overrides {beaten}")


@policy.command("compile")
@click.argument("spec")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")
def policy_compile(spec: str, out: Path | None) -> None:
    """Compile a policy and print its plan as JSON (rules in precedence order)."""
    from deidengine.policy.plan import Plan

    plan = _load_or_exit(spec)
    assert isinstance(plan, Plan)
    document = {
        "policy": list(plan.names),
        "runnable": plan.runnable,
        "digest": plan.digest,
        "codes": list(plan.codes),
        "rules": [
            {
                "selector": rule.target.text,
                "kind": rule.target.kind.name.lower(),
                "action": rule.action.label,
                "when": rule.condition_text,
                "layer": rule.layer,
                "source": rule.source,
            }
            for rule in sorted(plan.rules, key=lambda r: r.precedence)
        ],
    }
    text = json.dumps(document, indent=2)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {out} ({len(plan.rules)} rules, digest {plan.digest[:12]})")


if __name__ == "__main__":
    main()
