"""Figures: seaborn, saved as PDF, with labels a reader can use without the code."""

from __future__ import annotations

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
    rows = order + [r for r in ("random prompt", "no prompt") if r in grid.index]
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
    for edge in _group_edges(order, task_types):
        ax.axhline(edge, color="white", lw=2.5)
        ax.axvline(edge, color="white", lw=2.5)
    ax.axhline(len(order), color="black", lw=2.5)
    ax.set_xlabel("target task (evaluated)")
    ax.set_ylabel("source prompt")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=45)
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")


def heatmaps_pdf(path, matrices: dict, tasks: list[str], task_types: dict[str, str]) -> None:
    """One page per backbone: the zero-shot transfer heatmap."""
    with atomic_path(path) as tmp, PdfPages(tmp) as pdf:
        for backbone, matrix in matrices.items():
            size = 3 + 0.55 * len(tasks)
            fig, ax = plt.subplots(figsize=(size + 2.5, size))
            own = matrix[matrix.source == matrix.target].set_index("target")["accuracy"]
            title = (
                f"Zero-shot prompt transfer on {backbone}\n"
                f"(validation accuracy relative to each target's own prompt; mean own accuracy {100 * own.mean():.1f}%)"
            )
            transfer_heatmap(ax, matrix, tasks, task_types, title)
            fig.tight_layout()
            pdf.savefig(fig)
            plt.close(fig)
