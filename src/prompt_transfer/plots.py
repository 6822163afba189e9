"""Figures: seaborn, saved as PDF, with labels a reader can use without the code."""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")  # files only; jobs have no display

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from .io import atomic_path  # noqa: E402


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


def heatmaps_pdf(path, matrices: dict, tasks: list[str], task_types: dict[str, str]) -> None:
    """One page per backbone: the zero-shot transfer heatmap."""
    with atomic_path(path) as tmp, PdfPages(tmp) as pdf:
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


METRIC_WORDS = {"accuracy": "accuracy", "f1": "F1", "rouge_l": "ROUGE-L"}


def _score_words(matrix) -> str:
    """'accuracy', or for a study with generation tasks the metrics it mixes (each target its own)."""
    metrics = sorted(set(matrix["metric"])) if "metric" in matrix else ["accuracy"]
    if metrics == ["accuracy"]:
        return "accuracy"
    return "score (" + "/".join(METRIC_WORDS.get(m, m) for m in metrics) + ")"


def _speedup_label(row) -> str:
    if not row.tpt_reached:
        return "never reaches"
    bound = "≥" if row.tpt_at_start else ""
    return f"{bound}×{row.speedup:.2g}"


def _tpt_panel(ax, pairs, title: str, read_log) -> None:
    """One target's curves: its random-init run, each transferred run, the threshold."""
    styles = {"same-type": "-", "cross-type": "--", "same-task": "-."}
    random_log = read_log(pairs.random_log.iloc[0])
    ax.plot(
        random_log.step, 100 * random_log.dev_accuracy, color="black", lw=2.2, marker="o", ms=3, label="random init"
    )
    colours = sns.color_palette("tab10", len(pairs))
    for colour, row in zip(colours, pairs.itertuples()):
        log = read_log(row.log)
        style = styles.get(row.pair, "-") if row.init_kind == "prompt" else "-."
        name = row.source if row.init_kind == "prompt" else row.init
        label = f"from {name} ({row.pair}, {_speedup_label(row)})"
        ax.plot(log.step, 100 * log.dev_accuracy, ls=style, color=colour, marker=".", ms=4, label=label)
    fraction = pairs.threshold_fraction.iloc[0]
    label = f"threshold ({fraction:.0%} of random-init best)"
    ax.axhline(100 * pairs.threshold.iloc[0], color="grey", ls=":", lw=1.2, label=label)
    ax.set_title(title)
    ax.set_xlabel("training step")
    ax.set_ylabel("dev accuracy (%)")
    ax.legend(fontsize=6.5, loc="lower right")


def tpt_curves_pdf(path, tables: dict, tasks: list[str], task_types: dict[str, str], read_log=None) -> None:
    """One page per backbone (tables: backbone -> its speedup.csv), one panel per target: dev accuracy against
    training steps of the random-init run (black) and of each transferred run (solid: same type,
    dashed: other type, dash-dot: projected from another backbone or imported), the threshold dotted."""
    import math

    import pandas as pd

    read_log = read_log or pd.read_csv
    with atomic_path(path) as tmp, PdfPages(tmp) as pdf:
        for backbone, table in tables.items():
            targets = [t for t in ordered_by_type(tasks, task_types) if t in set(table.target)]
            cols = min(3, max(1, len(targets)))
            rows = max(1, math.ceil(len(targets) / cols))
            # constrained layout keeps the two-line suptitle clear of the top row's titles
            fig, axes = plt.subplots(
                rows, cols, figsize=(5.2 * cols, 3.8 * rows + 0.8), squeeze=False, layout="constrained"
            )
            for ax in axes.flat[len(targets) :]:
                ax.set_axis_off()
            if not targets:
                axes[0, 0].text(0.5, 0.5, "no TPT pairs", ha="center", va="center")
            for ax, target in zip(axes.flat, targets):
                _tpt_panel(ax, table[table.target == target], f"{target} ({task_types[target]})", read_log)
            fig.suptitle(
                f"Transferable prompt tuning on {backbone}: target's dev accuracy during training, "
                "random init vs initialised from a source prompt\n(× = speed-up to the threshold: "
                "random-init steps / transferred steps; ≥ when the transferred run starts above it)",
                fontsize=10,
            )
            pdf.savefig(fig)
            plt.close(fig)


def indicator_rho_plot(ax, spearman, title: str) -> None:
    """Spearman's rho per indicator (rows) with its 95% bootstrap interval, one marker per
    variant (outcome x aggregation)."""
    import numpy as np

    from .indicators import OUTCOMES, indicator_label

    data = spearman.assign(variant=spearman.outcome.map(OUTCOMES) + ", " + spearman.aggregation)
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
    """Two pages per backbone (results: backbone -> (spearman table, indicator/transfer pairs)):
    rho per indicator with intervals, and the scatter of every indicator against relative transfer."""
    with atomic_path(path) as tmp, PdfPages(tmp) as pdf:
        for backbone, (spearman, pairs) in results.items():
            indicators = spearman.indicator.nunique()
            fig, ax = plt.subplots(figsize=(12, 1.8 + 0.55 * indicators))
            title = (
                f"Transferability indicators on {backbone}: Spearman's ρ with measured transfer\n"
                f"pooled over {len(pairs)} source→target pairs, or the mean of per-target ρ over "
                f"{pairs.target.nunique()} targets\n(bars: 95% bootstrap intervals, resampling targets)"
            )
            indicator_rho_plot(ax, spearman, title)
            fig.tight_layout()
            pdf.savefig(fig)
            plt.close(fig)
            title = f"Indicators against zero-shot transfer on {backbone} (one point per source→target pair, own prompts excluded)"
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
    with atomic_path(path) as tmp, PdfPages(tmp) as pdf:
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


def run_heatmap_job(job, matrices: list[tuple[str, str]], out) -> None:
    """The heatmap rule. job: the study's tasks and types; matrices: (backbone, matrix.csv)."""
    heatmaps_pdf(out, _read_tables(matrices), job.tasks, job.types)


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
    with atomic_path(path) as tmp, PdfPages(tmp) as pdf:
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
