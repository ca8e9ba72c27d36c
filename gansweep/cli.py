"""The ``gansweep`` command line: thin wrappers over the package, one line per user error.

Exit codes: 0 done; 2 bad input (usage, invalid study, not a study directory, a path the file system
refuses); 1 anything else (the machine: a full disk, an I/O error, a store that cannot be written).
"""

from __future__ import annotations

import logging
import math
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from gansweep.errors import GansweepError, StudyError, os_error_exit_code
from gansweep.status import FINAL, SCORED, Status

CONFIRM_STATUSES = tuple(s for s in FINAL if s is not Status.STOPPED)  # the confirmation stops no trial early


class _Group(TyperGroup):
    """Help shows no type label on a flag: typer's rich help labels every one ``<bool>``, which reads
    as if it took a value (``--force <bool>``)."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _unlabel_flags(super().get_params(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _unlabel_flags(command.get_params(ctx))
        return command


def _unlabel_flags(params: list[click.Parameter]) -> list[click.Parameter]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # typer shows a metavar instead of the type; click shows none for flags
    return params


app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Large-scale GAN hyperparameter studies: study file → Ray Tune → Parquet → plots.")
out = Console(width=None if sys.stdout.isatty() else 160, emoji=False)  # ids and paths may hold ':x:'
err = Console(stderr=True, emoji=False)


def _plan_table(plan, cost=None) -> Table:
    from gansweep.study.cost import format_hours

    table = Table(title=f"study {plan.study.name}: {len(plan.cells)} cells × {len(plan.study.search)} "
                        f"search entries = {plan.total} trials")
    table.add_column("cell", overflow="fold")
    labels = [s.name or s.strategy for s in plan.study.search]
    for label in labels:
        table.add_column(label, justify="right")
    table.add_column("trials", justify="right")
    hours = {c.cell: c.hours for c in cost.cells} if cost else {}
    if cost:
        table.add_column(f"{cost.device}-h", justify="right")
    for cell in plan.cells:
        counts = [e.trials for e in plan.entries if e.cell == cell]
        table.add_row(cell.id, *map(str, counts), str(sum(counts)),
                      *([format_hours(hours[cell.id])] if cost else []))
    return table


@app.command()
def validate(
    study_file: Path = typer.Argument(..., help="the study file (YAML)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="accept a plan above the trial limit"),
    rates: Optional[Path] = typer.Option(None, "--rates", help="steps/s measured by 'gansweep bench --csv' "
                                         "(default: estimate from counted FLOPs)"),
    tflops: Optional[float] = typer.Option(None, "--tflops", min=0.001, max=1e6, help="sustained TFLOP/s of one device "
                                           "for the estimate (default: 30 for a GPU, 0.015 for a CPU core)"),
) -> None:
    """Check a study and print its plan (cells × trials) and its cost in GPU-hours (CPU-hours for a
    study that asks for no GPU); run nothing."""
    from gansweep.driver.guard import check_plan_size
    from gansweep.store.studydir import check_output_path
    from gansweep.study import build_plan, load_study
    from gansweep.study.cost import format_hours, plan_cost

    study = load_study(study_file)
    plan = build_plan(study, str(study_file), weights=False)
    check_plan_size(plan.total, str(study_file), yes)
    try:
        build_plan(study, str(study_file))
    except GansweepError as exc:  # a dry run needs no weights; say what a real run will need
        err.print(f"warning: a real run (not --dry-run) needs more: {exc}", markup=False, highlight=False,
                  soft_wrap=True)
    check_output_path(os.path.join(study.output, study.name), f"{study_file}: output")
    try:
        cost = plan_cost(plan, rates, tflops)  # builds each cell's networks: an image shape they refuse fails here
    except StudyError:
        raise
    except GansweepError as exc:
        raise StudyError(f"{study_file}: training.resolution / grid.architecture: {exc}") from None
    out.print(_plan_table(plan, cost))
    out.print(f"total: {plan.total} trials in {len(plan.cells)} cells")
    unknown = sum(c.hours is None for c in cost.cells)
    amount = format_hours(cost.hours)
    amount = f"{amount} {cost.device}-hours" if cost.hours >= 1 else f"{amount} of {cost.device} time"
    out.print(f"cost: {amount} ({cost.source})"
              + (f"; {unknown} cells of unknown image size not counted (set training.resolution)" if unknown else ""))
    if study.confirm is not None:
        _confirm_plan(study, plan, cost, rates, tflops)


def _confirm_plan(study, plan, cost, rates, tflops) -> None:
    """validate's lines for the confirmation stage: its trials and their cost beside the search's."""
    from gansweep.study.confirm import resolve_settings
    from gansweep.study.cost import confirm_cost, format_hours

    st = resolve_settings(study)
    c = confirm_cost(plan, st.top, st.seeds, rates, tflops)
    n = sum(x.trials for x in c.cells)
    share = f" ({100 * c.hours / cost.hours:.0f} % of the search's)" if cost.hours > 0 else ""
    amount = format_hours(c.hours)
    amount = f"{amount} {c.device}-hours" if c.hours >= 1 else f"{amount} of {c.device} time"
    out.print(f"confirmation: {n} trials (top {st.top} configuration{'s' if st.top > 1 else ''} × {st.seeds} new seeds per cell and search "
              f"entry, {study.training.steps} steps each, scored on {st.samples} samples): {amount}{share}",
              soft_wrap=True)


LOG_TO_HELP = ("also log each trial to mlflow (its own <study>/mlflow.db, or MLFLOW_TRACKING_URI), mlflow:URI or "
               "wandb (repeatable; pip install 'gansweep[tracking]'; docs/CLI.md)")


@app.command()
def run(
    study_file: Path = typer.Argument(..., help="the study file (YAML)"),
    out_dir: Optional[str] = typer.Option(None, "--out", help="parent directory of the study directory, or "
                                          "s3://bucket/prefix, gs://bucket/prefix (default: the study's 'output')"),
    address: Optional[str] = typer.Option(None, "--address", help="join this Ray cluster (default: local Ray)"),
    max_concurrent: Optional[int] = typer.Option(None, "--max-concurrent", min=1,
                                                 help="trials at once (default: what the resources allow)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="synthetic trials instead of training"),
    force: bool = typer.Option(False, "--force", help="delete an existing study directory and start over"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation; accept a plan above "
                             "the trial limit"),
    log_to: Optional[list[str]] = typer.Option(None, "--log-to", metavar="TARGET", help=LOG_TO_HELP),
) -> None:
    """Run a study with Ray Tune and store its results."""
    from gansweep.driver.guard import check_plan_size
    from gansweep.driver.run import check_target, start, study_dir_for
    from gansweep.driver.tracking import parse_targets
    from gansweep.study import build_plan, load_study

    parse_targets(log_to)  # a bad --log-to: one line before the study is even read
    study = load_study(study_file)
    # A dry run trains nothing: it needs no Inception weights (start() builds the plan alike).
    check_plan_size(build_plan(study, str(study_file), weights=not dry_run).total, str(study_file), yes)
    if force and not yes:
        target = study_dir_for(study, out_dir)
        if check_target(target, force) and not typer.confirm(f"delete {target.path} and start over?"):
            raise typer.Exit(1)
    outcome = start(study, str(study_file), out_dir, address, max_concurrent, dry_run, force, log_to or ())
    _report(outcome, study_dir_for(study, out_dir).path)


@app.command()
def resume(
    study_dir: str = typer.Argument(..., help="the study directory, e.g. runs/demo or s3://bucket/runs/demo"),
    address: Optional[str] = typer.Option(None, "--address", help="join this Ray cluster"),
    max_concurrent: Optional[int] = typer.Option(None, "--max-concurrent", min=1,
                                                 help="trials at once (default: what the resources allow)"),
    trust: bool = typer.Option(False, "--trust", help="load Tune's saved experiment (pickles) even if your "
                               "gansweep did not sign it on this machine: only for a study you know"),
    log_to: Optional[list[str]] = typer.Option(None, "--log-to", metavar="TARGET", help=LOG_TO_HELP),
) -> None:
    """Continue an interrupted study: nothing lost, nothing run twice."""
    from gansweep.driver.run import resume as resume_study
    from gansweep.driver.tracking import parse_targets
    from gansweep.storage import location

    parse_targets(log_to)
    where = location(study_dir)
    _report(resume_study(where, address, max_concurrent, trust, log_to or ()), where)


def _report(outcome, study_dir) -> None:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(outcome.counts.items())) or "none"
    best = f"{outcome.best:.4g}" if math.isfinite(outcome.best) else "–"
    out.print(f"{study_dir}: {outcome.stored}/{outcome.planned} trials stored ({counts}); best score {best}")
    if outcome.interrupted:
        from gansweep.store.studydir import resume_advice

        err.print(f"not finished: continue with {resume_advice(study_dir)}", markup=False, highlight=False,
                  soft_wrap=True)
        raise typer.Exit(1)
    if getattr(outcome, "confirm", None) is not None:
        _report_confirm(outcome.confirm, study_dir)
    if outcome.stored and set(outcome.counts) == {Status.FAILED}:
        err.print(f"every trial failed: their errors are in 'gansweep status {study_dir}' and 'gansweep report'",
                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def _report_confirm(outcome, study_dir) -> None:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(outcome.counts.items())) or "none"
    st = outcome.settings
    out.print(f"{study_dir}: confirmation {outcome.stored}/{outcome.planned} trials stored ({counts}); top {st.top} "
              f"configurations × {st.seeds} new seeds, {st.samples} samples (results/confirm)")
    if outcome.interrupted:
        err.print(f"confirmation not finished: continue with 'gansweep confirm {study_dir}' (or 'gansweep resume')",
                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@app.command()
def confirm(
    study_dir: str = typer.Argument(..., help="the study directory of a finished search"),
    top: Optional[int] = typer.Option(None, "--top", help="configurations per cell and search entry "
                                      "(default: the study's confirm.top, else 3)"),
    seeds: Optional[int] = typer.Option(None, "--seeds", help="new training seeds per configuration "
                                        "(default: confirm.seeds, else 5)"),
    samples: Optional[int] = typer.Option(None, "--samples", help="samples of the fresh evaluation "
                                          "(default: confirm.samples, else max(10000, metrics.samples))"),
    address: Optional[str] = typer.Option(None, "--address", help="join this Ray cluster"),
    max_concurrent: Optional[int] = typer.Option(None, "--max-concurrent", min=1,
                                                 help="trials at once (default: what the resources allow)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="for a dry-run study (implied there): synthetic trials"),
) -> None:
    """Train the search's top configurations again with new seeds, score each on a fresh evaluation:
    results/confirm (docs/CONFIRM.md). Run it again to continue an interrupted confirmation."""
    from gansweep.driver.confirm import confirm_study
    from gansweep.storage import location

    where = location(study_dir)
    _report_confirm(confirm_study(where, top, seeds, samples, address, max_concurrent, dry_run), where)


@app.command()
def status(study_dir: str = typer.Argument(..., help="the study directory (or s3://…, gs://…)")) -> None:
    """Trials by cell, strategy and status, with the best score so far."""
    from gansweep.driver.run import summarize
    from gansweep.store.studydir import fingerprint, require_study_dir
    from gansweep.store import read_trials
    from gansweep.study import build_plan, study_from_data

    sd = require_study_dir(study_dir)
    study, meta = sd.load()
    if meta.get("planned") and meta.get("fingerprint") != fingerprint(study):
        err.print(f"warning: {sd.study_file} was edited since the study was planned; showing the plan as run "
                  "('gansweep resume' checks the edit)", markup=False, highlight=False, soft_wrap=True)
        study = study_from_data(meta["planned"], f"{sd.meta_file} (planned study)")
    plan = build_plan(study, str(sd.study_file), weights=False)
    df = read_trials(sd.path)
    try:
        mode = " (dry run)" if sd.mode(meta) else ""
    except GansweepError as exc:  # shown, not fatal: status only reads
        err.print(f"warning: {exc}", markup=False, highlight=False, soft_wrap=True)
        mode = " (dry run or real: unknown)"
    table = Table(title=f"{study.name}{mode}")
    for col in ("cell", "strategy", "planned", *FINAL, "best"):
        table.add_column(col, justify="left" if col in ("cell", "strategy") else "right",
                         overflow="fold" if col == "cell" else "ellipsis", min_width=len(col))
    for e in plan.entries:
        sub = df[(df.cell == e.cell.id) & (df.strategy == e.label)] if not df.empty else df
        n = sub.status.value_counts().to_dict() if not sub.empty else {}
        ok = sub.score[sub.status.isin(SCORED)] if not sub.empty else []
        best = f"{min(ok):.4g}" if len(ok) else "–"
        table.add_row(e.cell.id, e.label, str(e.trials), *(str(n.get(s, 0)) for s in FINAL), best)
    out.print(table)
    o = summarize(plan, sd)
    best = f"{o.best:.4g}" if math.isfinite(o.best) else "–"
    out.print(f"{o.stored}/{o.planned} trials stored; best score {best}")
    _running_status(sd, df)
    _confirm_status(sd, study, meta, plan, df)


RUNNING_SHOWN = 20


def _running_status(sd, trials) -> None:
    """Trials that reported evaluations but are not stored yet: their latest step and best score."""
    from gansweep.store.running import read_running

    running = read_running(sd.path, set(trials.trial_id) if not trials.empty else set())
    if running.empty:
        return
    out.print(f"{len(running)} trials running (evaluations stored as reported; time of the last report):")
    for r in running.sort_values("reported_at", ascending=False).head(RUNNING_SHOWN).itertuples():
        score = f"{r.score:.4g}" if isinstance(r.score, float) and math.isfinite(r.score) else "–"
        step = "?" if pd_isna(r.step) else f"{int(r.step)}"
        out.print(f"  {r.trial_id}: step {step}, best score {score}, {r.evaluations} evaluations, "
                  f"reported {str(r.reported_at)[:19].replace('T', ' ')} UTC", markup=False, highlight=False)
    if len(running) > RUNNING_SHOWN:
        out.print(f"  … and {len(running) - RUNNING_SHOWN} more")


def pd_isna(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _confirm_status(sd, study, meta, plan, trials) -> None:
    """status's lines for the confirmation stage (results/confirm), when there is one or the study asks for one."""
    from gansweep.analysis.confirmed import confirmed_table
    from gansweep.store.confirm import read_confirm
    from gansweep.study.confirm import META_KEY, confirm_configs, select

    rows = read_confirm(sd.path)
    if rows.empty and study.confirm is None and not isinstance(meta.get(META_KEY), dict):
        return
    from gansweep.study.confirm import resolve_settings

    try:
        st = resolve_settings(study, meta.get(META_KEY), source=str(sd.study_file))
    except GansweepError as exc:
        err.print(f"warning: {exc}", markup=False, highlight=False, soft_wrap=True)
        return
    done = not trials.empty and set(plan.trial_ids()) <= set(trials.trial_id)
    ids = {c["trial_id"] for c in confirm_configs(plan, select(plan, trials, st.top), st)} if done else None
    table = Table(title=f"confirmation: top {st.top} × {st.seeds} seeds, {st.samples} samples")
    for col in ("cell", "strategy", "configs", "trials", *CONFIRM_STATUSES, "choice mean ± se"):
        table.add_column(col, justify="left" if col in ("cell", "strategy") else "right",
                         overflow="fold" if col == "cell" else "ellipsis")
    conf = confirmed_table(rows)
    for e in plan.entries:
        sub = rows[(rows.cell == e.cell.id) & (rows.strategy == e.label)] if not rows.empty else rows
        n = sub.status.value_counts().to_dict() if not sub.empty else {}
        c = conf[(conf.cell == e.cell.id) & (conf.strategy == e.label)] if not conf.empty else conf
        first = c.sort_values("rank").iloc[0] if not c.empty else None
        mean = f"{first['mean']:.4g} ± {first['se']:.2g}" if first is not None and first["mean"] == first["mean"] else "–"
        table.add_row(e.cell.id, e.label, str(sub.confirms.nunique() if not sub.empty else 0), str(len(sub)),
                      *(str(n.get(s, 0)) for s in CONFIRM_STATUSES), mean)
    out.print(table)
    if ids is None:
        out.print(f"confirmation: {len(rows)} trials stored; it runs once the search is finished")
    else:
        stored = int(rows.trial_id.isin(ids).sum()) if not rows.empty else 0
        rest = "" if stored == len(ids) else f"; continue with 'gansweep confirm {sd.path}'"
        out.print(f"confirmation: {stored}/{len(ids)} trials stored{rest}")


LOCAL_OUT_HELP = "local directory to write into (default: the study directory; ./<name> for a study in a bucket)"


@app.command()
def plot(
    study_dir: str = typer.Argument(..., help="the study directory (or s3://…, gs://…)"),
    by: Optional[str] = typer.Option(None, "--by", help="colour curves by this axis (e.g. normalization)"),
    panel: Optional[str] = typer.Option(None, "--panel", help="one panel per value of this axis (e.g. dataset)"),
    metric: Optional[str] = typer.Option(None, "--metric", help="plot this metric instead of the score"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help=LOCAL_OUT_HELP),
) -> None:
    """Write plots/*.png and the plotted data as plots/*.csv."""
    from gansweep.analysis.plots import plot_study

    for path in plot_study(study_dir, by=by, panel=panel, metric=metric, out=out_dir):
        out.print(str(path))


@app.command()
def report(
    study_dir: str = typer.Argument(..., help="the study directory (or s3://…, gs://…)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help=LOCAL_OUT_HELP),
) -> None:
    """Write report.html: the study, progress, failures, best trials, plots, ranking of cells."""
    from gansweep.analysis.report import write_report

    out.print(str(write_report(study_dir, out=out_dir)))


@app.command()
def samples(
    study_dir: str = typer.Argument(..., help="the study directory (or s3://…, gs://…)"),
    trial: Optional[list[str]] = typer.Option(None, "--trial", help="draw this trial (repeatable); "
                                              "default: the best trial of each cell"),
    top: Optional[int] = typer.Option(None, "--top", help="draw the N best trials of the study instead"),
    n: Optional[int] = typer.Option(None, "-n", help="samples per trial (default 64 images, 2000 points in 2-D)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help=LOCAL_OUT_HELP),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda"),
) -> None:
    """Write samples/<trial_id>.png from the generator each trial scored best with."""
    from gansweep.analysis.samples import write_samples

    for path in write_samples(study_dir, trial_ids=trial or None, top=top, n=n, out=out_dir, device=device):
        out.print(str(path))


@app.command()
def evaluate(
    study_dir: str = typer.Argument(..., help="the study directory (or s3://…, gs://…)"),
    trial: Optional[list[str]] = typer.Option(None, "--trial", help="evaluate this trial (repeatable); "
                                              "default: the best trial of each cell"),
    top: Optional[int] = typer.Option(None, "--top", help="evaluate the N best trials of the study instead"),
    samples: Optional[int] = typer.Option(None, "--samples", help="generated samples (default: the study's "
                                          "metrics.samples)"),
    metric: Optional[list[str]] = typer.Option(None, "--metric", help="metric (repeatable; default: the "
                                               "study's primary and extra metrics)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help=LOCAL_OUT_HELP),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda"),
) -> None:
    """Evaluate the kept generators again (more samples, other metrics): evaluations.csv."""
    from gansweep.analysis.evaluate import evaluate_study

    frame, path = evaluate_study(study_dir, trial_ids=trial or None, top=top, samples=samples,
                                 metrics=metric or None, out=out_dir, device=device)
    table = Table(title=f"{len(frame)} trials, {int(frame['samples'].iloc[0])} samples each")
    values = [c for c in frame.columns if c not in ("trial_id", "cell", "strategy", "samples", "seconds")]
    for col in ["trial_id", *values]:
        table.add_column(col, justify="left" if col == "trial_id" else "right", overflow="fold")
    for trial_id, *cells in frame[["trial_id", *values]].itertuples(index=False, name=None):  # plain tuples:
        # a namedtuple renames columns that are keywords, and 'is' is a metric
        table.add_row(trial_id, *(f"{v:.5g}" if isinstance(v, float) else str(v) for v in cells))
    out.print(table)
    out.print(str(path))


class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


@app.command()
def export(
    study_dir: str = typer.Argument(..., help="the study directory (or s3://…, gs://…)"),
    fmt: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="csv or parquet"),
    dest: Optional[Path] = typer.Option(None, "--dest", help="output directory (default: <study>/export; "
                                        "./<name>/export for a study in a bucket)"),
) -> None:
    """Write trials and evaluations as single files, for analysis elsewhere."""
    from gansweep.analysis.export import export_study

    for path in export_study(study_dir, fmt.value, dest):
        out.print(str(path))


def _version_callback(value: bool) -> None:
    if value:
        from gansweep.driver.run import _version

        out.print(f"gansweep {_version()}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    """Large-scale GAN hyperparameter studies: study file → Ray Tune → Parquet → plots."""
    from gansweep import env

    env.check()  # a bad GANSWEEP_* value: one line now, not a traceback in a worker later


data_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Real data sets: convert them once into the fast prepared format.")
app.add_typer(data_app, name="data")


@data_app.command("prepare")
def data_prepare(
    name: str = typer.Argument(..., help="cifar10, celeba_hq_128, lsun_bedroom, folder:<path> or npz:<path>"),
    root: Optional[str] = typer.Option(None, "--root", help="the data root (default: $GANSWEEP_DATA)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="where to write (default: <root>/prepared/<name>-<res>, "
                                           "where trials look first)"),
    resolution: Optional[int] = typer.Option(None, "--resolution", min=1, help="image size (default: the data set's)"),
    download: bool = typer.Option(False, "--download", help="download cifar10 if it is not under the root"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing prepared copy"),
) -> None:
    """Decode a data set once into uint8 memory-mapped arrays (reference statistics are computed by
    the metrics on first use, not here)."""
    from gansweep.data.prepare import prepare
    from gansweep.data.real import KNOWN, data_root, read_prepared_meta

    if name in KNOWN and data_root(root) is None:
        raise GansweepError(f"data set {name!r}: no data root; give --root DIR (or set GANSWEEP_DATA=DIR) with "
                            f"{KNOWN[name].fetch_hint} in DIR/{name}" + (", or add --download" if name == "cifar10" else ""))
    path = prepare(name, root, out_dir, resolution, download=download or None, overwrite=overwrite)
    meta = read_prepared_meta(path)
    out.print(f"{path}: {meta['counts']['train']} train + {meta['counts']['test']} test images, "
              f"{meta['channels']}x{meta['resolution']}x{meta['resolution']} uint8 ({meta['split']})")


@app.command()
def bench(
    architecture: str = typer.Option("sndcgan", "--architecture", help="architecture to train"),
    loss: str = typer.Option("ns", "--loss"),
    penalty: str = typer.Option("none", "--penalty", help="none, gp, dragan, r1, l2 (weight 10)"),
    normalization: str = typer.Option("sn", "--normalization", help="sn: gansweep's SN; the naive loop "
                                      "uses torch.nn.utils.spectral_norm"),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    resolution: int = typer.Option(32, "--resolution", min=1, help="square images, 3 channels"),
    width: int = typer.Option(64, "--width", min=1, help="base channel width (paper: 64)"),
    z_dim: int = typer.Option(128, "--z-dim", min=1),
    steps: int = typer.Option(50, "--steps", min=1, help="generator steps per timing"),
    warmup: int = typer.Option(10, "--warmup", min=1, help="steps before timing (compilation, autotuning)"),
    repeats: int = typer.Option(3, "--repeats", min=1, help="timings per variant, best kept"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 (default: cuda if there)"),
    threads: int = typer.Option(1, "--threads", min=1, help="torch CPU threads per process"),
    pack: list[int] = typer.Option([], "--pack", min=1, help="also N processes at once on the device "
                                   "(aggregate steps/s); repeat for several N"),
    speedup: list[str] = typer.Option([], "--speedup", help="speed-up to switch (repeatable; default: those "
                                      "that matter on the device; 'none': no switches)"),
    compile_backend: str = typer.Option("inductor", "--compile-backend", help="torch.compile backend of the "
                                        "compile/cuda_graphs switches"),
    eval_samples: int = typer.Option(0, "--eval-samples", min=0, help="also time one FID evaluation of N "
                                     "samples (0: no)"),
    eval_batch_size: int = typer.Option(200, "--eval-batch-size", min=1),
    inception_weights: Optional[str] = typer.Option(None, "--inception-weights", help="Inception weights file "
                                                    "(default: found, else random-init: same time)"),
    csv_path: Path = typer.Option(Path("gansweep-bench.csv"), "--csv", help="where to write the rows"),
) -> None:
    """Training steps/s against a naive eager PyTorch loop (same run), speed-ups, packing, eval time."""
    from gansweep.perf.bench import BenchPlan, run, table, write_csv
    from gansweep.perf.variants import BenchSpec

    spec = BenchSpec(architecture, loss, penalty, normalization, batch_size, resolution, width=width, z_dim=z_dim,
                     device=device or "", threads=threads)
    plan = BenchPlan(spec, steps, warmup, repeats, list(speedup), list(pack), eval_samples, eval_batch_size,
                     inception_weights, compile_backend)
    checked = plan.checked()
    if checked.spec.device == "cpu" and width * batch_size >= 1024:  # the paper's sizes: ~4 s a step on 2 cores
        err.print("note: on a CPU at these sizes the benchmark takes tens of minutes; for a quick look try "
                  "--width 8 --batch-size 16 --steps 10 (the figures that matter come from a GPU)",
                  markup=False, highlight=False, soft_wrap=True)
    rows = run(checked)
    out.print(table(rows))
    out.print(str(write_csv(rows, csv_path)))


def main() -> None:
    """Console entry point: user errors are one line and exit code 2, the machine's one line and 1."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(standalone_mode=True)
    except GansweepError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        # The file system refused a path (a symlink loop, not a directory, read-only: exit 2, the
        # user's to fix) or the machine failed on it (a full disk, an I/O error: exit 1); one line.
        if exc.filename is None:
            raise
        err.print(f"error: {exc.filename}: {exc.strerror or type(exc).__name__}", markup=False, highlight=False,
                  soft_wrap=True)
        sys.exit(os_error_exit_code(exc))


if __name__ == "__main__":
    main()
