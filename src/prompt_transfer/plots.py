"""Figures: seaborn, saved as PDF, with labels a reader can use without the code."""

from __future__ import annotations

import contextlib
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only; jobs have no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from .io import atomic_path  # noqa: E402


@contextlib.contextmanager
def pdf_pages(path):
    """A multi-page PDF written to `path` atomically, with no creation date: the same figure
    gives the same bytes, so a re-run that changes nothing shows no change."""
    with atomic_path(path) as tmp, PdfPages(tmp, metadata={"CreationDate": None}) as pdf:
        yield pdf


def ordered_by_type(tasks: list[str], task_types: dict[str, str]) -> list[str]:
    """Tasks grouped by type; types and tasks keep their first-seen order."""
    types = list(dict.fromkeys(task_types[t] for t in tasks))
    return [t for ty in types for t in tasks if task_types[t] == ty]


def _group_edges(tasks: list[str], task_types: dict[str, str]) -> list[int]:
    return [i for i in range(1, len(tasks)) if task_types[tasks[i]] != task_types[tasks[i - 1]]]


def transfer_heatmap(ax, matrix, tasks: list[str], task_types: dict[str, str], title: str):
    """Relative performance (%), sources as rows (then the baselines), targets as columns."""
    order = ordered_by_type(tasks, task_types)
    grid = matrix.pivot_table(index="source", columns="target", values="relative")
    rows = order + [r for r in ("random prompt", "uniform random prompt", "no prompt") if r in grid.index]
    grid = grid.reindex(index=rows, columns=order)
    sns.heatmap(
        grid,
        ax=ax,
        annot=True,
        fmt=".0f",
        cmap="viridis",
        vmin=min(50, float(grid.min().min())),
        vmax=max(100, float(grid.max().max())),
        cbar_kws={"label": "relative performance (% of the target's own prompt)"},
        annot_kws={"size": 7},
        linewidths=0.3,
    )
    _hatch_cells_like_random(ax, matrix, rows, order)
    for edge in _group_edges(order, task_types):
        ax.axhline(edge, color="white", lw=2.5)
        ax.axvline(edge, color="white", lw=2.5)
    ax.axhline(len(order), color="black", lw=2.5)
    ax.set_xlabel("target task (evaluated)")
    ax.set_ylabel("source prompt")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=45)
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")


def _hatch_cells_like_random(ax, matrix, rows: list[str], columns: list[str]) -> None:
    """Hatch the cells whose 95% interval of (accuracy - the random prompts') contains zero."""
    from matplotlib.patches import Rectangle

    like_random = matrix[(matrix.minus_random_low <= 0) & (matrix.minus_random_high >= 0)]
    for cell in like_random.itertuples():
        if cell.source in rows and cell.target in columns:
            xy = (columns.index(cell.target), rows.index(cell.source))
            ax.add_patch(Rectangle(xy, 1, 1, fill=False, hatch="///", edgecolor="white", lw=0, alpha=0.6))


def type_comparison(axes, matrix, test, title: str) -> None:
    """Same-type vs cross-type relative performance: every cell (mean over seeds) with the two
    means (left), and their difference with its 95% interval and permutation p-value (right)."""
    import pandas as pd

    cells = matrix[matrix.pair.isin(["same-type", "cross-type"])]
    left, right = axes
    # seaborn draws the jitter from numpy's global generator: seed it here, and give it back as it was
    state = np.random.get_state()
    np.random.seed(0)
    try:
        sns.stripplot(cells, x="pair", y="relative", order=["same-type", "cross-type"], ax=left, color="0.55", size=4)
    finally:
        np.random.set_state(state)
    means = cells.groupby("pair")["relative"].mean().reindex(["same-type", "cross-type"])
    left.scatter(range(2), means, marker="_", s=500, color="crimson", lw=2.5, zorder=3, label="mean of the cells")
    for x, value in enumerate(means):
        left.annotate(
            f"{value:.1f}",
            (x, value),
            xytext=(-30, 0),
            textcoords="offset points",
            va="center",
            ha="right",
            color="crimson",
        )
    left.axhline(100, color="black", lw=0.8, ls=":")
    left.set_xlabel("source → target pairs")
    left.set_ylabel("relative performance (% of the target's own prompt)")
    left.legend(loc="upper right", fontsize=8)
    row = test.iloc[0]
    estimate = pd.Series([row.same_minus_cross])
    right.errorbar(
        [0], estimate, yerr=[[row.same_minus_cross - row.low], [row.high - row.same_minus_cross]],
        fmt="o", color="crimson", capsize=8, ms=8,
    )  # fmt: skip
    right.axhline(0, color="black", lw=0.8)
    right.set_xlim(-1, 1)
    right.set_xticks([])
    right.set_ylabel("same-type − cross-type (points of relative performance)")
    right.annotate(
        f"{row.same_minus_cross:+.1f} [{row.low:+.1f}, {row.high:+.1f}]\np = {row.p_value:.3f}",
        (0, row.same_minus_cross), xytext=(14, 0), textcoords="offset points", va="center", fontsize=9,
    )  # fmt: skip
    left.figure.suptitle(title, fontsize=9)


def _type_comparison_title(backbone: str, test) -> str:
    row = test.iloc[0]
    seeds = int(row.seeds)
    return (
        f"Same-type vs cross-type zero-shot transfer on {backbone}: {int(row.tasks)} tasks, "
        f"{seeds} trained prompt{'s' if seeds > 1 else ''} per task, {int(row.examples_per_target)} examples per "
        "target.\n95% interval: bootstrap over tasks (a drawn task brings its row and column)"
        + (" and seeds" if seeds > 1 else "")
        + "; p: type labels permuted among tasks."
    )


def heatmaps_pdf(path, matrices: dict, tasks: list[str], task_types: dict[str, str], type_tests: dict | None = None):
    """One page per backbone: the zero-shot transfer heatmap; then, for each backbone with its
    type test (type_difference.csv), the same-type vs cross-type comparison."""
    type_tests = type_tests or {}
    with pdf_pages(path) as pdf:
        for backbone, matrix in matrices.items():
            size = 3 + 0.55 * len(tasks)
            fig, ax = plt.subplots(figsize=(size + 2.5, size))
            own = matrix[matrix.source == matrix.target]
            seeds = int(own.seeds.max())
            score = _score_words(matrix)
            details = (
                f"Validation {score} relative to each target's own prompt (mean own {score}"
                f" {100 * own.accuracy.mean():.1f}%); {seeds} trained prompt{'s' if seeds > 1 else ''} per task,"
                f" {int(own.examples.median())} examples per target. Hatched: not distinguishable from the"
                " random prompts (95% bootstrap interval)."
            )
            title = f"Zero-shot prompt transfer on {backbone}\n" + textwrap.fill(details, int(9 * (size + 2.5)))
            transfer_heatmap(ax, matrix, tasks, task_types, title)
            ax.title.set_fontsize(9)
            fig.tight_layout()
            pdf.savefig(fig)
            plt.close(fig)
            if backbone in type_tests:
                fig, axes = plt.subplots(
                    1, 2, figsize=(9, 5), gridspec_kw={"width_ratios": [2, 1]}, layout="constrained"
                )
                type_comparison(
                    axes, matrix, type_tests[backbone], _type_comparison_title(backbone, type_tests[backbone])
                )
                pdf.savefig(fig)
                plt.close(fig)


METRIC_WORDS = {"accuracy": "accuracy", "f1": "F1", "rouge_l": "ROUGE-L"}


def _score_words(matrix) -> str:
    """'accuracy', or for a study with generation tasks the metrics it mixes (each target its own)."""
    metrics = sorted(set(matrix["metric"])) if "metric" in matrix else ["accuracy"]
    if metrics == ["accuracy"]:
        return "accuracy"
    return "score (" + "/".join(METRIC_WORDS.get(m, m) for m in metrics) + ")"


def _speedup_label(pair) -> str:
    """A pair's speed-up (tpt.per_pair_speedup row): its one value, or with several seeds the
    median and the range; ≥ when a run starts above the threshold (the value is a lower bound)."""
    if not pair.reached:
        return "never reaches"
    bound = "≥" if pair.at_start else ""
    if pair.seeds == 1:
        return f"{bound}×{pair.median_speedup:.2g}"
    return f"{bound}×{pair.median_speedup:.2g} [{pair.min_speedup:.2g}–{pair.max_speedup:.2g}]"


def _curve_over_seeds(ax, logs: list, **style) -> None:
    """Mean dev score over the seeds' logs at each step, and with several seeds their range as a band."""
    import pandas as pd

    curve = pd.concat(logs).groupby("step").dev_accuracy.agg(["mean", "min", "max"]).reset_index()
    lines = ax.plot(curve.step, 100 * curve["mean"], **style)
    if len(logs) > 1:
        ax.fill_between(
            curve.step, 100 * curve["min"], 100 * curve["max"], color=lines[0].get_color(), alpha=0.15, lw=0
        )


def _tpt_panel(ax, runs, title: str, read_log) -> None:
    """One target's curves: its random-init run, each transferred run, the threshold (runs: the
    target's speedup.csv rows, one per pair and seed)."""
    from .tpt import PAIR_KEYS, per_pair_speedup

    styles = {"same-type": "-", "cross-type": "--", "same-task": "-."}
    random_logs = [read_log(path) for path in runs.random_log.unique()]
    _curve_over_seeds(ax, random_logs, color="black", lw=2.2, marker="o", ms=3, label="random init")
    pairs = per_pair_speedup(runs)
    for colour, pair in zip(sns.color_palette("tab10", len(pairs)), pairs.itertuples()):
        logs = [read_log(path) for path in runs.merge(pairs.loc[[pair.Index], PAIR_KEYS]).log]
        style = styles.get(pair.pair, "-") if pair.init_kind == "prompt" else "-."
        name = pair.source if pair.init_kind == "prompt" else pair.init
        label = f"from {name} ({pair.pair}, {_speedup_label(pair)})"
        _curve_over_seeds(ax, logs, ls=style, color=colour, marker=".", ms=4, label=label)
    fraction = runs.threshold_fraction.iloc[0]
    thresholds = runs.drop_duplicates("random_log").threshold
    several = len(thresholds) > 1
    label = f"threshold ({fraction:.0%} of random-init best{', mean over seeds' if several else ''})"
    ax.axhline(100 * thresholds.mean(), color="grey", ls=":", lw=1.2, label=label)
    if several:
        ax.axhspan(100 * thresholds.min(), 100 * thresholds.max(), color="grey", alpha=0.12, lw=0)
    ax.set_title(title)
    ax.set_xlabel("training step")
    ax.set_ylabel("dev accuracy (%)")
    ax.legend(fontsize=6.5, loc="lower right")


def _seeds_words(table) -> str:
    seeds = table.seed.nunique()
    if seeds <= 1:
        return ""
    return (
        f"; {seeds} seeds per run (each seed's source prompt on the same seed's target run):"
        " lines are means over seeds, bands their range, × the median speed-up [its range]"
    )


def tpt_curves_pdf(path, tables: dict, tasks: list[str], task_types: dict[str, str], read_log=None) -> None:
    """One page per backbone (tables: backbone -> its speedup.csv), one panel per target: dev accuracy against
    training steps of the random-init run (black) and of each transferred run (solid: same type,
    dashed: other type, dash-dot: projected from another backbone or imported), the threshold dotted;
    with several seeds, the mean curve over seeds and their range as a band."""
    import math

    import pandas as pd

    read_log = read_log or pd.read_csv
    with pdf_pages(path) as pdf:
        for backbone, table in tables.items():
            targets = [t for t in ordered_by_type(tasks, task_types) if t in set(table.target)]
            cols = min(3, max(1, len(targets)))
            rows = max(1, math.ceil(len(targets) / cols))
            # constrained layout keeps the suptitle clear of the top row's titles
            fig, axes = plt.subplots(
                rows, cols, figsize=(5.2 * cols, 3.8 * rows + 0.9), squeeze=False, layout="constrained"
            )
            for ax in axes.flat[len(targets) :]:
                ax.set_axis_off()
            if not targets:
                axes[0, 0].text(0.5, 0.5, "no TPT pairs", ha="center", va="center")
            for ax, target in zip(axes.flat, targets):
                _tpt_panel(ax, table[table.target == target], f"{target} ({task_types[target]})", read_log)
            details = (
                "(× = speed-up to the threshold: random-init steps / transferred steps; ≥ when the transferred"
                " run starts above it" + _seeds_words(table) + ")"
            )
            heading = (
                f"Transferable prompt tuning on {backbone}: target's dev accuracy during training, "
                "random init vs initialised from a source prompt"
            )
            width = int(12 * 5.2 * cols)  # characters of the 10-point title per line
            fig.suptitle(
                textwrap.fill(heading, width) + "\n" + textwrap.fill(details, width),
                fontsize=10,
            )
            pdf.savefig(fig)
            plt.close(fig)


def indicator_rho_plot(ax, spearman, title: str) -> None:
    """Spearman's rho per indicator (rows) with its 95% bootstrap interval, one marker per
    variant (outcome x aggregation, labelled with the most pairs or targets and the seeds behind a rho)."""
    import numpy as np

    from .indicators import OUTCOMES, indicator_label

    units = {"pooled": "pairs", "per-target": "targets"}
    spearman = spearman.assign(seeds=spearman.get("seeds", 1))
    behind = spearman.groupby(["outcome", "aggregation"]).agg(n=("n", "max"), seeds=("seeds", "max"))
    variants = {
        key: f"{OUTCOMES[key[0]]}, {key[1]} ({row.n} {units[key[1]]}, {row.seeds} seed{'s' if row.seeds > 1 else ''})"
        for key, row in behind.iterrows()
    }
    data = spearman.assign(variant=[variants[key] for key in zip(spearman.outcome, spearman.aggregation)])
    indicators = list(dict.fromkeys(data.indicator))
    variants = list(dict.fromkeys(data.variant))
    offsets = np.linspace(-0.3, 0.3, len(variants)) if len(variants) > 1 else [0.0]
    for offset, colour, variant in zip(offsets, sns.color_palette("colorblind", len(variants)), variants):
        rows = data[data.variant == variant].set_index("indicator").reindex(indicators)
        below = np.maximum(rows.rho - rows.ci_low, 0)  # a cluster-bootstrap interval may miss the estimate
        above = np.maximum(rows.ci_high - rows.rho, 0)
        ax.errorbar(
            rows.rho,
            np.arange(len(indicators)) + offset,
            xerr=[below, above],
            fmt="o",
            ms=4,
            capsize=2,
            color=colour,
            label=variant,
        )
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(range(len(indicators)), [indicator_label(i) for i in indicators])
    ax.invert_yaxis()
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel("Spearman's ρ between indicator and measured transfer")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="outcome, aggregation", title_fontsize=8)


def indicator_scatter_grid(pairs, spearman, outcome: str, title: str):
    """One panel per indicator: its value against the measured outcome of every pair."""
    import math

    from .indicators import OUTCOMES, indicator_label

    indicators = list(dict.fromkeys(spearman.indicator))
    cols = min(4, len(indicators))
    rows = math.ceil(len(indicators) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.3 * rows + 0.8), squeeze=False, layout="constrained")
    pooled = spearman[(spearman.outcome == outcome) & (spearman.aggregation == "pooled")].set_index("indicator").rho
    for ax in axes.flat[len(indicators) :]:
        ax.set_axis_off()
    for n, (ax, indicator) in enumerate(zip(axes.flat, indicators)):
        sns.scatterplot(
            data=pairs,
            x=indicator,
            y=outcome,
            hue="pair",
            hue_order=["same-type", "cross-type"],
            s=18,
            ax=ax,
            legend=n == 0,
        )
        ax.set_title(f"{indicator_label(indicator)}\npooled ρ = {pooled.get(indicator, float('nan')):.2f}", fontsize=9)
        ax.set_xlabel("indicator value")
        ax.set_ylabel(OUTCOMES[outcome])
        ax.locator_params(axis="x", nbins=4)  # long decimals of close values would overlap
    fig.suptitle(title, fontsize=10)
    return fig


def indicators_pdf(path, results: dict) -> None:
    """Two pages per backbone (results: backbone -> (spearman table, indicator/transfer pairs,
    per seed if they have `seed`)): rho per indicator with intervals, and the scatter of every
    indicator against relative transfer, both on the means over seeds of each pair."""
    from .indicators import seed_count, seed_means

    with pdf_pages(path) as pdf:
        for backbone, (spearman, pairs) in results.items():
            seeds = seed_count(pairs)
            pairs = seed_means(pairs)
            over_seeds = f"each the mean over {seeds} seeds" if seeds > 1 else "one seed"
            resampled = "targets and seeds" if seeds > 1 else "targets"
            indicators = spearman.indicator.nunique()
            fig, ax = plt.subplots(figsize=(12, 1.8 + 0.55 * indicators))
            title = (
                f"Transferability indicators on {backbone}: Spearman's ρ with measured transfer\n"
                f"pooled over {len(pairs)} source→target pairs ({over_seeds}), or the mean of per-target ρ over "
                f"{pairs.target.nunique()} targets\n(bars: 95% bootstrap intervals, resampling {resampled})"
            )
            indicator_rho_plot(ax, spearman, title)
            fig.tight_layout()
            pdf.savefig(fig)
            plt.close(fig)
            title = (
                f"Indicators against zero-shot transfer on {backbone}\none point per source→target pair "
                f"({over_seeds}; {pairs.target.nunique()} targets), own prompts excluded"
            )
            fig = indicator_scatter_grid(pairs, spearman, "relative", title)
            pdf.savefig(fig)
            plt.close(fig)


def cross_model_heatmap(ax, table, task_types: dict[str, str], task_sets: dict[str, list[str]], title: str) -> None:
    """Zero-shot accuracy (%) on the target backbone's tasks (columns, grouped by type) of the
    projected prompts (rows: objective x task set) and the reference prompts below the line,
    coloured relative to the target's own prompt."""
    tasks = ordered_by_type([c for c in table.columns if c in task_types], task_types)

    def label(row) -> str:
        if not isinstance(row.objective, str):  # a reference row
            return row.prompt
        trained_on = ", ".join(task_sets.get(row.task_set, []))
        return f"{row.objective} projector, {row.task_set}" + (f" ({trained_on})" if trained_on else "")

    accuracy = table.set_index(table.apply(label, axis=1))[tasks].astype(float)
    own = table.loc[table.prompt == "own prompt", tasks].iloc[0].astype(float)
    relative = 100 * accuracy / own
    sns.heatmap(
        relative,
        ax=ax,
        annot=100 * accuracy,
        fmt=".1f",
        cmap="viridis",
        vmin=min(50, float(relative.min().min())),
        vmax=max(100, float(relative.max().max())),
        cbar_kws={"label": "relative performance (% of the target's own prompt)"},
        annot_kws={"size": 8},
        linewidths=0.3,
    )
    for edge in _group_edges(tasks, task_types):
        ax.axvline(edge, color="white", lw=2.5)
    ax.axhline(int(table.objective.map(lambda o: isinstance(o, str)).sum()), color="black", lw=2.5)
    ax.set_xlabel("target task (evaluated zero-shot)")
    ax.set_ylabel("prompt on the target backbone")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelrotation=45)
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")


def cross_model_pdf(path, tables: dict, task_types: dict[str, str], task_sets: dict[str, list[str]]) -> None:
    """One page per backbone pair (tables: (source, target) -> its cross_model table)."""
    with pdf_pages(path) as pdf:
        for (source, target), table in tables.items():
            tasks = [c for c in table.columns if c in task_types]
            fig, ax = plt.subplots(figsize=(max(9.0, 6.5 + 0.8 * len(tasks)), 2.5 + 0.5 * len(table)))
            title = (
                f"Cross-model prompt transfer {source} → {target}\n"
                f"each task's {source} prompt projected into {target}, scored zero-shot\n"
                f"(numbers: validation accuracy (%); colour: % of {target}'s own prompt)"
            )
            cross_model_heatmap(ax, table, task_types, task_sets, title)
            fig.tight_layout()
            pdf.savefig(fig)
            plt.close(fig)


# --- jobs -------------------------------------------------------------------------------------


def _read_tables(named: list[tuple[str, str]]) -> dict:
    import pandas as pd

    return {name: pd.read_csv(path) for name, path in named}


def run_heatmap_job(job, matrices: list[tuple[str, str]], type_tests: list[tuple[str, str]], out) -> None:
    """The heatmap rule. job: the study's tasks and types; matrices: (backbone, matrix.csv);
    type_tests: (backbone, type_difference.csv)."""
    heatmaps_pdf(out, _read_tables(matrices), job.tasks, job.types, _read_tables(type_tests))


def run_tpt_curves_job(job, tables: list[tuple[str, str]], out) -> None:
    """The tpt_curves rule. tables: (backbone, speedup.csv)."""
    tpt_curves_pdf(out, _read_tables(tables), job.tasks, job.types)


def _accuracy_grid(table, column: str, tasks: list[str], task_types: dict[str, str]):
    order = ordered_by_type(tasks, task_types)
    return 100 * table.pivot_table(index="source", columns="target", values=column).reindex(index=order, columns=order)


def paper_comparison_pdf(path, table, stats: dict, tasks: list[str], task_types: dict[str, str]) -> None:
    """The run's and the published zero-shot accuracy of the study's tasks side by side (one colour
    scale; a blank cell is missing from that table), and one against the other."""
    backbone, reference = table.backbone.iloc[0], table.reference_backbone.iloc[0]
    grids = {side: _accuracy_grid(table, side, tasks, task_types) for side in ("ours", "theirs")}
    low = min(float(g.min().min()) for g in grids.values() if g.notna().any().any())
    high = max(float(g.max().max()) for g in grids.values() if g.notna().any().any())
    size = 3 + 0.55 * len(tasks)
    with pdf_pages(path) as pdf:
        fig, axes = plt.subplots(1, 3, figsize=(3 * size + 2, size + 0.8), width_ratios=[1.15, 1.15, 1])
        titles = {"ours": f"this run: {backbone}", "theirs": f"published: {reference}\n(grey: not in the table)"}
        for ax, (side, grid) in zip(axes, grids.items()):
            ax.set_facecolor("0.85")  # cells missing from a table
            sns.heatmap(
                grid, ax=ax, annot=True, fmt=".0f", cmap="viridis", vmin=low, vmax=high, annot_kws={"size": 7},
                linewidths=0.3, cbar_kws={"label": "zero-shot accuracy (%)"},
            )  # fmt: skip
            for edge in _group_edges(list(grid.columns), task_types):
                ax.axhline(edge, color="white", lw=2.5)
                ax.axvline(edge, color="white", lw=2.5)
            ax.set(xlabel="target task (evaluated)", ylabel="source prompt", title=titles[side])
            ax.tick_params(axis="x", labelrotation=45)
            plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
        cells = table[(table.status == "both") & table.pair.isin(["own", "same-type", "cross-type"])]
        sns.scatterplot(
            x=100 * cells.theirs, y=100 * cells.ours, hue=cells.pair, hue_order=["own", "same-type", "cross-type"],
            ax=axes[2],
        )  # fmt: skip
        axes[2].axline((50, 50), slope=1, color="grey", lw=1, ls="--", label="ours = published")
        axes[2].set(xlim=(low - 3, high + 3), ylim=(low - 3, high + 3), aspect="equal")
        axes[2].legend(title="pair")
        axes[2].set(xlabel=f"published accuracy (%), {reference}", ylabel=f"this run's accuracy (%), {backbone}")
        axes[2].set_title(
            f"{stats['cells']} cells in both: Spearman's rho {stats['spearman']:.2f}, "
            f"mean |difference| {stats['mean_abs_difference']:.1f} points\n"
            f"relative perf. same-type: ours {stats['same-type_ours_relative']:.0f}%, "
            f"published {stats['same-type_theirs_relative']:.0f}%\n"
            f"cross-type: ours {stats['cross-type_ours_relative']:.0f}%, "
            f"published {stats['cross-type_theirs_relative']:.0f}%",
            fontsize=9,
        )
        fig.suptitle(f"Zero-shot transfer: {backbone} against the published {reference} table (validation accuracy)")
        fig.tight_layout()
        pdf.savefig(fig)
        plt.close(fig)
