"""The ``deid`` command: thin verbs over the library. Every verb calls one documented function.

Choice of library: click (argument parsing, well kept, already a dependency of many tools)
and rich (tables and progress on a terminal).

Each verb imports what it needs when it runs: start-up time is part of every run, and
``deid run`` on a few files should not pay for the policy parser, rich or the OCR stack when
the plan is cached, the output is a log, and there are no pixels to clean.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from deidengine import __version__
from deidengine.run.deferred_imports import defer_unused_imports
from deidengine.run.native_threads import default_blas_threads

if TYPE_CHECKING:
    from deidengine.dicom.keys import ProjectSecret
    from deidengine.pixels.review import ReviewRow
    from deidengine.policy.plan import Plan

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
#: Set by :func:`console_main`: this process is the ``deid`` program, not a host calling
#: :func:`main` (a test runner, an application), so it may tune the process for one run.
_AS_PROGRAM = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deid")
@click.pass_context
def main(context: click.Context) -> None:
    """deidengine: rules-based de-identification of DICOM files and trees."""
    if _AS_PROGRAM and context.invoked_subcommand != "run":
        gc.enable()  # paused by console_main for start-up; `run` resumes it itself


# ----------------------------------------------------------------------------- policy
@main.group()
def policy() -> None:
    """Check, explain and compile policies."""


@policy.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def policy_list(fmt: str) -> None:
    """List the shipped policies with their one-line descriptions."""
    from deidengine.policy.resolve import shipped_policies

    listed = shipped_policies()
    if fmt == "json":
        from deidengine.policy.resolve import policy_list_json

        click.echo(json.dumps(policy_list_json(listed), indent=2))
        return
    width = max(len(p.name) for p in listed)
    for shipped in listed:
        click.echo(f"{shipped.name:<{width}}  {shipped.description}")


@policy.command("check")
@click.argument("specs", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def policy_check(specs: tuple[str, ...], fmt: str) -> None:
    """Check policies; exit 0 when every one is clean (warnings allowed), 1 when any has an
    error, 2 when a spec names no readable policy (unknown, unreadable, not UTF-8).

    SPECS are shipped names (annex-e/basic), paths, or comma lists composed in order.
    """
    from deidengine.policy import check_policy
    from deidengine.policy.diagnostics import UNREADABLE_CODES, has_errors

    failed = False
    unreadable = False
    report: dict[str, list[dict[str, object]]] = {}
    for spec in specs:
        diagnostics = check_policy(spec)
        failed = failed or has_errors(diagnostics)
        unreadable = unreadable or any(d.code in UNREADABLE_CODES for d in diagnostics)
        if fmt == "json":  # the text form does not pay for pydantic's import
            from deidengine.schemas.policy import DiagnosticDocument

            report[spec] = [DiagnosticDocument.of(d).model_dump(mode="json") for d in diagnostics]
        if fmt == "text":
            for diagnostic in diagnostics:
                click.echo(diagnostic.render(), err=True)
            if not diagnostics:
                click.echo(f"{spec}: ok")
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    sys.exit(EXIT_USAGE if unreadable else EXIT_FINDINGS if failed else EXIT_OK)


def _load_or_exit(spec: str, runnable: bool = False) -> Plan:
    from deidengine.policy import PolicyError, load_plan

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
    from deidengine.policy import explain_json, explain_plan
    from deidengine.policy.explain import (
        DEFAULT_TREATMENT,
        TEXT_CLEANING_NOTES,
        UnknownElementError,
        unselected_treatment,
    )

    plan = _load_or_exit(spec)
    try:
        if fmt == "json":
            click.echo(json.dumps(explain_json(plan, tag), indent=2))
            return
        rows = explain_plan(plan, tag)
    except UnknownElementError as error:
        click.echo(f"deid policy explain: {error}", err=True)
        sys.exit(EXIT_USAGE)
    if tag is not None and not rows:
        click.echo(f"no rule of {spec} selects {tag}: {unselected_treatment(tag)}", err=True)
        sys.exit(EXIT_FINDINGS)
    click.echo(f"# policy {', '.join(plan.names)}  codes {' '.join(plan.codes)}")
    click.echo(f"# default: {DEFAULT_TREATMENT}")
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
        if row.text_cleaning:
            click.echo(f"    {TEXT_CLEANING_NOTES[row.text_cleaning]}")


@policy.command("compile")
@click.argument("spec")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")
def policy_compile(spec: str, out: Path | None) -> None:
    """Compile a policy and print its plan as JSON (rules in precedence order)."""
    from deidengine.policy.explain import compile_json

    plan = _load_or_exit(spec)
    text = json.dumps(compile_json(plan), indent=2)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {out} ({len(plan.rules)} rules, digest {plan.digest[:12]})")


# ----------------------------------------------------------------------------- run, keygen
def _lookup_option(
    context: click.Context, parameter: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, Path], ...]:
    from deidengine.run.layout import RunConfigurationError
    from deidengine.run.runner import parse_lookup

    try:
        return tuple(parse_lookup(value) for value in values)
    except RunConfigurationError as error:
        raise click.BadParameter(str(error)) from None


@main.command("run")
@click.option("--policy", "policy_spec", required=True, help="Shipped name, path or comma list.")
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The project secret (else $DEID_SECRET); make one with `deid keygen`.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes (default: CPU count); one input file runs in one, whatever is asked.",
)
@click.option(
    "--quarantine",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where failed inputs go (default: OUT.quarantine, beside OUT).",
)
@click.option(
    "--lookup",
    "lookups",
    multiple=True,
    metavar="NAME=CSV",
    callback=_lookup_option,
    help="A lookup table for the policy's lookup actions (repeatable).",
)
@click.option(
    "--mappings",
    "mappings_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write uids.csv and patient_ids.csv (old,new; mode 0600) here. Never inside OUT.",
)
@click.option(
    "--audit",
    "audit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The audit file (default: OUT.audit/<run-id>.jsonl).",
)
@click.option("--ocr", type=click.Choice(["tesseract", "rapidocr"]), help="The OCR backend.")
@click.option(
    "--executor",
    default="local",
    show_default=True,
    help="local (a process pool) or dask (a Dask cluster: pip install 'deidengine[dask]').",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="With --executor dask: the scheduler, tcp://HOST:PORT (tls:// beyond this machine); "
    "without it a local cluster of --workers processes is started.",
)
@click.option(
    "--no-resume",
    "no_resume",
    is_flag=True,
    help="Process every input, even those OUT.manifest.sqlite records as done.",
)
@click.option(
    "--encrypt-to",
    "encrypt_to",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Honest brokers: a recipient certificate (PEM); the original values travel in the "
    "Encrypted Attributes Sequence, readable with its key only (deid reidentify).",
)
@click.option(
    "--force-new-run",
    "force_new_run",
    is_flag=True,
    help="Write into an OUT made with another project secret or policy (refused otherwise).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary (errors only).")
@click.option("-v", "--verbose", is_flag=True, help="Log a line per input (keyed reference only).")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append progress lines (and -v lines) to this file; no path or name is ever logged.",
)
@click.option(
    "--progress-every",
    type=click.FloatRange(min=0.01),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How often progress is logged when stderr is not a terminal, and to --log-file.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse a secret file that group or others can read (else a loud warning).",
)
@click.option(
    "--follow-links",
    is_flag=True,
    help="Read symbolic links to files outside IN (else they are skipped and reported).",
)
@click.option(
    "--max-inflated-mib",
    type=click.IntRange(min=1),
    default=None,
    help="Quarantine (too-large) a deflated file inflating beyond this (default 512).",
)
@click.option(
    "--max-pixel-mib",
    type=click.IntRange(min=1),
    default=None,
    help="Quarantine (too-large) a file declaring more pixel data than this (default 4096).",
)
@click.option(
    "--review",
    "review_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write DIR/review.html (mode 0600): every redacted output frame, masks outlined, "
    "with OCR confidence and reason codes. Keep DIR outside OUT.",
)
@click.argument("input_path", metavar="IN", type=click.Path(path_type=Path))
@click.argument("output", metavar="OUT", type=click.Path(path_type=Path))
def run(
    policy_spec: str,
    secret_file: Path | None,
    workers: int | None,
    quarantine: Path | None,
    lookups: tuple[tuple[str, Path], ...],
    mappings_dir: Path | None,
    audit_path: Path | None,
    ocr: str | None,
    executor: str,
    scheduler: str | None,
    no_resume: bool,
    encrypt_to: Path | None,
    force_new_run: bool,
    quiet: bool,
    verbose: bool,
    log_file: Path | None,
    progress_every: float,
    strict: bool,
    follow_links: bool,
    max_inflated_mib: int | None,
    max_pixel_mib: int | None,
    review_dir: Path | None,
    input_path: Path,
    output: Path,
) -> None:
    """De-identify IN (a file or a tree) into OUT.

    Exit 0 when every input was written (or found already written, or is a DICOMDIR);
    1 when any was quarantined; 2 for usage and configuration errors, before anything is written;
    3 when a full disk stopped the run; 130 (SIGINT) or 143 (SIGTERM) when a signal stopped it.
    Re-running the same command finishes an interrupted run: the inputs OUT.manifest.sqlite
    records as done are skipped, the others (and the quarantined ones) are processed.
    Progress: a line on a terminal, else a log line every --progress-every seconds on stderr.
    """
    from deidengine.dicom.keys import SecretError
    from deidengine.dicom.limits import InputLimits
    from deidengine.policy import PolicyError
    from deidengine.run.diskfull import EXIT_DISK_FULL, DiskFullError
    from deidengine.run.executor import WORKER_COLLECTION_THRESHOLD, WorkerStartError
    from deidengine.run.layout import RunConfigurationError
    from deidengine.run.progress import run_progress
    from deidengine.run.report import print_summary
    from deidengine.run.runner import RunRequest, run_request, stop_message
    from deidengine.run.signals import RunInterrupted, stop_on_signals

    request = RunRequest(
        policy_spec=policy_spec,
        input=input_path,
        output=output,
        secret_file=secret_file,
        quarantine=quarantine,
        lookups=lookups,
        mappings_dir=mappings_dir,
        audit_path=audit_path,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        resume=not no_resume,
        ocr_backend=ocr or "default",
        encrypt_to=encrypt_to,
        force_new_run=force_new_run,
        strict=strict,
        follow_links=follow_links,
        limits=InputLimits.from_mib(max_inflated_mib, max_pixel_mib),
        review_dir=review_dir,
    )
    _echo_plan_warnings(policy_spec)
    if _AS_PROGRAM:
        # The run is the program's last job: what it has imported lives until exit and is
        # left out of the collector (pool workers freeze their own heap once they hold the
        # plan; see executor.py). Not when ``main`` is called in someone else's process.
        gc.freeze()
        # A run with one worker processes its files in this process: collect as rarely as a
        # pool worker does (executor.WORKER_COLLECTION_THRESHOLD says why).
        gc.set_threshold(WORKER_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
        # Paused since start-up (console_main): the imports are done. A policy compiled on a
        # plan-cache miss leaves ~7,000 objects in cycles, frozen above with the rest (kept to
        # the end of the run: less than collecting them, which costs 25-35 ms every run).
        gc.enable()
    try:
        with stop_on_signals(), _progress_log(input_path, output, log_file) as log:
            progress = run_progress(quiet=quiet, verbose=verbose, log=log, every=progress_every)
            summary = run_request(request, progress=progress, warn=_warn_loudly)
    except PolicyError as error:
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
        sys.exit(EXIT_USAGE)
    except (SecretError, RunConfigurationError, WorkerStartError) as error:
        click.echo(f"deid run: {error}", err=True)
        sys.exit(EXIT_USAGE)
    except DiskFullError as error:
        click.echo(f"deid run: {error}", err=True)
        sys.exit(EXIT_DISK_FULL)
    except RunInterrupted as interruption:  # before the files, or while closing the run
        click.echo(
            f"deid run: stopped by {interruption.signal_name}; run the same command again to "
            "finish (what ended is skipped)",
            err=True,
        )
        sys.exit(interruption.exit_code)
    if not quiet:
        print_summary(summary)
    if review_dir is not None:
        from deidengine.pixels.review import assemble_sheet

        click.echo(f"review sheet: {assemble_sheet(review_dir)}", err=True)
    if summary.stopped is not None:
        click.echo(f"deid run: {stop_message(summary)}", err=True)
    sys.exit(summary.exit_code)


@contextlib.contextmanager
def _progress_log(input: Path, output: Path, log_file: Path | None) -> Iterator[TextIO | None]:
    """The ``--log-file``, open for appending (checked first: never inside IN or OUT)."""
    if log_file is None:
        yield None
        return
    from deidengine.run.layout import RunConfigurationError, check_log_file

    check_log_file(input, output, log_file)
    try:
        log = open(log_file, "a", encoding="utf-8")  # noqa: SIM115 (held for the whole run)
    except OSError as error:
        raise RunConfigurationError(
            f"cannot open the log file {log_file}: {error.strerror}"
        ) from None
    with log:
        yield log


def _echo_plan_warnings(spec: str) -> None:
    """Say before a run what its outputs will not claim (W301); errors are the run's to report."""
    from deidengine.policy import PolicyError, load_plan
    from deidengine.policy.compile import plan_warnings

    try:
        warnings = plan_warnings(load_plan(spec))
    except PolicyError:
        return
    for warning in warnings:
        click.echo(warning.render(), err=True)


def _warn_loudly(message: str) -> None:
    click.secho(f"deid run: WARNING: {message}", err=True, fg="red", bold=True)


@main.command("keygen")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="New file."
)
def keygen(out: Path) -> None:
    """Write a new project secret to a new file (mode 0600); never overwrites one."""
    from deidengine.dicom.keys import write_secret

    try:
        write_secret(out)
    except FileExistsError:
        click.echo(
            f"deid keygen: {out} already exists; a project secret is never replaced "
            "(every earlier output depends on it)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    except OSError as error:
        click.echo(f"deid keygen: cannot write {out}: {error.strerror}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(
        f"wrote a new project secret to {out} (mode 0600); keep it and back it up: "
        "re-runs and later batches need the same secret to give the same pseudonyms"
    )


# ----------------------------------------------------------------------------- detect
@main.command("detect")
@click.argument("input_path", metavar="IN", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option(
    "--ocr",
    "backend",
    type=click.Choice(["default", "tesseract", "rapidocr"]),
    default="default",
    help="The OCR backend (default: the best recall installed).",
)
@click.option("--show-text", is_flag=True, help="Print the recognised text (it may be PHI).")
@click.option("--show-paths", is_flag=True, help="Print file paths (they may carry PHI).")
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The project secret (or $DEID_SECRET): name files by deid run's keyed references.",
)
@click.option(
    "--review",
    "review_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write DIR/review.html (mode 0600): each frame with identifying text, as it would be "
    "redacted, masks outlined.",
)
def detect(
    input_path: Path,
    fmt: str,
    backend: str,
    show_text: bool,
    show_paths: bool,
    secret_file: Path | None = None,
    review_dir: Path | None = None,
) -> None:
    """Find burned-in text. Exit 0: none found; 1: identifying text found; 3: some files could
    not be read (one row each, with its reason); 4: both."""
    from deidengine.run.detect_tree import (
        detect_exit_code,
        render_detections,
        survey_burned_in_text,
    )

    rows: list[ReviewRow] | None = [] if review_dir is not None else None
    secret = _optional_secret("detect", secret_file)
    if secret is not None:
        from deidengine.run.detect_tree import survey_with_references

        results = list(survey_with_references(input_path, secret, backend=backend, review=rows))
    else:
        results = list(survey_burned_in_text(input_path, backend=backend, review=rows))
    render_detections(results, fmt, show_text=show_text, show_paths=show_paths)
    if review_dir is not None and rows is not None:
        from deidengine.pixels.review import write_sheet

        sheet = write_sheet(review_dir, rows, "Burned-in text survey: redaction preview")
        click.echo(f"review sheet: {sheet}", err=True)
    sys.exit(detect_exit_code(results))


# ----------------------------------------------------------------------------- reidentify
@main.command("reidentify")
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The recipient's RSA private key (PEM; its password, if any, in $DEID_KEY_PASSWORD).",
)
@click.option(
    "--cert",
    "cert_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The recipient's certificate (PEM) the originals were encrypted for.",
)
@click.argument("input_path", metavar="IN", type=click.Path(exists=True, path_type=Path))
@click.argument("output", metavar="OUT", type=click.Path(path_type=Path))
def reidentify(key_path: Path, cert_path: Path, input_path: Path, output: Path) -> None:
    """Restore the original attributes of de-identified IN (a file or a tree) into OUT.

    Only for honest brokers: OUT holds identity again (files are written with mode 0600).
    Exit 0 when every file was restored (or already was), 1 when any failed, 2 when the key,
    certificate or paths are unusable (nothing is written). Values are never printed.
    """
    import os

    from deidengine.provenance.files import (
        ReidentificationError,
        ReidentifyStatus,
        reidentify_path,
    )

    password = os.environ.get("DEID_KEY_PASSWORD")
    try:
        results = reidentify_path(
            input_path,
            output,
            key_path.read_bytes(),
            cert_path.read_bytes(),
            password=password.encode() if password else None,
        )
    except ReidentificationError as error:
        click.echo(f"deid reidentify: {error}", err=True)
        sys.exit(EXIT_USAGE)
    for result in results:
        if result.status is ReidentifyStatus.FAILED:
            click.echo(f"{result.source}: {result.reason}", err=True)
    counts = {s: sum(r.status is s for r in results) for s in ReidentifyStatus}
    click.echo(", ".join(f"{counts[s]} {s.value}" for s in ReidentifyStatus))
    sys.exit(EXIT_FINDINGS if counts[ReidentifyStatus.FAILED] else EXIT_OK)


# ----------------------------------------------------------------------------- verify
@main.command("verify")
@click.option("--policy", "policy_spec", required=True, help="Shipped name, path or comma list.")
@click.option(
    "--original",
    "original_root",
    type=click.Path(exists=True, path_type=Path),
    help="The input tree OUT was made from: enables the leak scan and exact UID/date checks.",
)
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The project secret (else $DEID_SECRET), to match outputs to --original inputs.",
)
@click.option(
    "--mappings",
    "mappings_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A run's mappings directory (uids.csv), to match outputs to --original inputs.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--no-ocr", is_flag=True, help="Do not read the pixels for burned-in text.")
@click.option("--no-iod", is_flag=True, help="Do not run the dciodvfy IOD check.")
@click.argument("output", metavar="OUT", type=click.Path(exists=True, path_type=Path))
def verify(
    policy_spec: str,
    original_root: Path | None,
    secret_file: Path | None,
    mappings_dir: Path | None,
    fmt: str,
    no_ocr: bool,
    no_iod: bool,
    output: Path,
) -> None:
    """Prove OUT (a file or a tree) clean under a policy.

    Exit 0 when no finding is an error, 1 when any is, 2 for usage errors. Findings name
    files, element paths and codes, never the values.
    """
    import os

    from rich.console import Console

    from deidengine.dicom.keys import SECRET_ENVIRONMENT_VARIABLE, SecretError, load_secret
    from deidengine.policy import PolicyError
    from deidengine.run.verify_tree import VerifyConfigurationError, render_report, verify_tree

    try:
        wants_secret = secret_file is not None or SECRET_ENVIRONMENT_VARIABLE in os.environ
        report = verify_tree(
            policy_spec,
            output,
            original_root=original_root,
            secret=load_secret(secret_file) if wants_secret else None,
            mapping_dir=mappings_dir,
            ocr=not no_ocr,
            iod=not no_iod,
        )
    except PolicyError as error:
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
        sys.exit(EXIT_USAGE)
    except (SecretError, VerifyConfigurationError) as error:
        click.echo(f"deid verify: {error}", err=True)
        sys.exit(EXIT_USAGE)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        render_report(report, Console())
    sys.exit(report.exit_code)


def _optional_secret(verb: str, secret_file: Path | None) -> ProjectSecret | None:
    """The project secret when one is given (file, else $DEID_SECRET); exit 2 if unusable."""
    import os

    from deidengine.dicom.keys import SECRET_ENVIRONMENT_VARIABLE, SecretError, load_secret

    if secret_file is None and SECRET_ENVIRONMENT_VARIABLE not in os.environ:
        return None
    try:
        return load_secret(secret_file)
    except SecretError as error:
        click.echo(f"deid {verb}: {error}", err=True)
        sys.exit(EXIT_USAGE)


# ----------------------------------------------------------------------------- quarantine
@main.group("quarantine")
def quarantine_group() -> None:
    """Read a run's quarantine (it holds the original inputs: PHI)."""


@quarantine_group.command("list")
@click.argument("quarantine_dir", metavar="QUARANTINE", type=click.Path(path_type=Path))
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The run's project secret (else $DEID_SECRET): it opens the sealed input paths.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def quarantine_list(quarantine_dir: Path, secret_file: Path | None, fmt: str) -> None:
    """List QUARANTINE's inputs: reference, reason, detail and the input path.

    The path is printed for the holder of the run's secret only (it may carry PHI). Exit 0,
    or 2 when the secret or the quarantine is unusable.
    """
    from deidengine.dicom.keys import SecretError, load_secret
    from deidengine.run.quarantine import QuarantineError, list_quarantine

    try:
        entries = list_quarantine(quarantine_dir, load_secret(secret_file))
    except (SecretError, QuarantineError) as error:
        click.echo(f"deid quarantine list: {error}", err=True)
        sys.exit(EXIT_USAGE)
    if fmt == "json":
        click.echo(json.dumps([entry.to_json() for entry in entries], indent=2))
        return
    for entry in entries:
        click.echo(f"{entry.reference}  {entry.reason:<24} {entry.resolution}")
        click.echo(f"    {entry.detail}")
    if not entries:
        click.echo("the quarantine holds no record")


# ----------------------------------------------------------------------------- serve
def _gateway_config_or_exit(config_path: Path, **overrides: object) -> object:
    from deidengine.serve.config import ConfigError, load_config

    try:
        return load_config(config_path, overrides)
    except ConfigError as error:
        for line in error.lines:
            click.echo(line, err=True)
        sys.exit(EXIT_USAGE)


_CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The gateway's TOML file (docs/gateway.md).",
)


@main.group("serve", invoke_without_command=True)
@_CONFIG_OPTION
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The project secret (instead of [gateway] secret_file).",
)
@click.option(
    "--spool-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where received instances are kept until de-identified (instead of spool_dir).",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The queue, outbox and audits (instead of work_dir).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Instead of log_level.",
)
@click.pass_context
def serve(
    context: click.Context,
    config_path: Path | None,
    secret_file: Path | None,
    spool_dir: Path | None,
    work_dir: Path | None,
    log_level: str | None,
) -> None:
    """Run the de-identification gateway: receive, de-identify, forward (DICOM network).

    Flags override the [gateway] settings of the file. Runs until SIGTERM or Ctrl-C, then
    drains. Exit 2 for configuration errors, before anything listens.
    """
    if context.invoked_subcommand is not None:
        return
    if config_path is None:
        raise click.UsageError("deid serve needs --config FILE")
    from deidengine.dicom.keys import SecretError
    from deidengine.policy import PolicyError
    from deidengine.serve.app import GatewayBusyError, configure_logging
    from deidengine.serve.app import serve as serve_gateway
    from deidengine.serve.config import GatewayConfig

    config = _gateway_config_or_exit(
        config_path,
        secret_file=str(secret_file) if secret_file else None,
        spool_dir=str(spool_dir) if spool_dir else None,
        work_dir=str(work_dir) if work_dir else None,
        log_level=log_level,
    )
    assert isinstance(config, GatewayConfig)
    configure_logging(config.gateway.log_level)
    try:
        serve_gateway(config)
    except PolicyError as error:
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
        sys.exit(EXIT_USAGE)
    except (SecretError, GatewayBusyError, OSError) as error:
        click.echo(f"deid serve: {error}", err=True)
        sys.exit(EXIT_USAGE)


@serve.command("status")
@_CONFIG_OPTION
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def serve_status(config_path: Path | None, fmt: str) -> None:
    """Queue depth per state, rates and recent problems by reason code (no PHI)."""
    from deidengine.serve.config import GatewayConfig
    from deidengine.serve.status import gateway_status, render_status

    if config_path is None:
        raise click.UsageError("deid serve status needs --config FILE")
    config = _gateway_config_or_exit(config_path)
    assert isinstance(config, GatewayConfig)
    status = gateway_status(config)
    if fmt == "json":
        click.echo(json.dumps(status.to_json(), indent=2))
    else:
        click.echo(render_status(status))


def console_main() -> None:
    """The ``deid`` program: :func:`main`, then an exit without the final full garbage
    collection. At exit the interpreter would walk every object the process holds (the plan,
    pydicom's dictionaries, numpy) for cycles the exit frees anyway: about 60 ms measured at
    the end of every run here. Everything is still flushed and closed as usual; frozen objects
    are only left out of collections.

    Before anything imports numpy, numpy's BLAS gets one thread unless the user chose a count
    (:mod:`deidengine.run.native_threads`: its idle threads cost 140 ms of CPU at every start).
    And the collector is paused while the verb imports what it needs: start-up creates about
    135,000 objects that all live until exit, and collecting while they are made walked them
    again and again (30 ms of a 290 ms start, measured). ``run`` resumes it once it has frozen
    its heap, every other verb as it begins. The modules pydicom imports for its test-data
    downloader only are imported at first use, if ever (:mod:`deidengine.run.deferred_imports`:
    35-45 ms of every start)."""
    global _AS_PROGRAM
    _AS_PROGRAM = True
    default_blas_threads(os.environ)
    defer_unused_imports()
    collecting = gc.isenabled()
    gc.disable()
    try:
        main()
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


if __name__ == "__main__":
    console_main()
