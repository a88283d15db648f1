"""The metrics log ``RUN/metrics.jsonl`` and the curves ``RUN/curves.png`` (matplotlib, Agg)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from avsynth.storage.atomic import atomic_path, atomic_write_text


def metrics_line(row: dict[str, Any]) -> str:
    """One epoch as a strict JSON line: NaN/inf floats are written as ``null``."""
    clean = {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()
    }
    return json.dumps(clean, allow_nan=False) + "\n"


def _non_finite(v: Any) -> bool:
    return isinstance(v, float) and not math.isfinite(v)


def _series(history: list[dict[str, Any]], key: str) -> list[float]:
    return [math.nan if h.get(key) is None else float(h[key]) for h in history]


def append_metrics(path: Path, row: dict[str, Any]) -> None:
    """Append one epoch's metrics as a JSON line (see :func:`metrics_line`)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(metrics_line(row))


def read_metrics(path: Path, *, upto: int | None = None) -> list[dict[str, Any]]:
    """The logged epochs (those ``<= upto`` if given); empty if there is no log."""
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if upto is None or r["epoch"] <= upto]


def write_metrics(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite the log atomically (a resumed run drops epochs after its checkpoint)."""

    atomic_write_text(path, "".join(metrics_line(r) for r in rows))


def plot_curves(history: list[dict[str, Any]], out: str | os.PathLike[str]) -> Path:
    """Draw train loss, val mIoU / F and the learning rate per epoch; write atomically.

    Args:
        history: One dict per epoch with ``epoch``, ``train_loss``, ``val_miou``,
            ``val_fscore`` and ``lr``.
        out: The PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    axes[0].plot(ep, _series(history, "train_loss"), "o-", color="tab:red")
    axes[0].set_title("train loss (BCE + soft IoU)")
    axes[1].plot(ep, _series(history, "val_miou"), "o-", label="val mIoU")
    axes[1].plot(ep, _series(history, "val_fscore"), "s-", label="val F")
    axes[1].set_ylim(0, 1)
    axes[1].legend(loc="lower right")
    axes[1].set_title("validation")
    axes[2].plot(ep, _series(history, "lr"), "-", color="tab:gray")
    if all(v > 0 for v in _series(history, "lr")):
        axes[2].set_yscale("log")
    axes[2].set_title("learning rate (end of epoch)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return out
