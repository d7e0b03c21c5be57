"""Matplotlib figures shared by the pages where a static picture serves best: the confusion matrix,
the misclassified digits, a sweep's trials. (Training curves are interactive: ui/curve_charts.py.)

Each function returns a `matplotlib.figure.Figure` built without pyplot: pyplot keeps global
state, and Streamlit draws pages of several sessions in parallel threads.
"""

import base64
import io
import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator, PercentFormatter

TRAINING_COLOR = "#4f46e5"  # the app's primary colour
VALIDATION_COLOR = "#f59e0b"
CORRECT_COLOR = "#dcfce7"
MISTAKE_COLOR = "#dc2626"
GRID_COLOR = "#e5e7eb"
TEXT_COLOR = "#111827"
MUTED_TEXT_COLOR = "#6b7280"
FONT_SIZE = 10


def _style(axes):
    axes.spines[["top", "right"]].set_visible(False)
    axes.spines[["left", "bottom"]].set_color(MUTED_TEXT_COLOR)
    axes.grid(True, color=GRID_COLOR, linewidth=0.8)
    axes.set_axisbelow(True)
    axes.tick_params(colors=MUTED_TEXT_COLOR, labelcolor=TEXT_COLOR, labelsize=FONT_SIZE - 1)


def confusion_matrix_figure(matrix, size=(4.6, 4.3)):
    """counts[true, predicted]: the diagonal (right) in green, mistakes in shades of red."""
    matrix = np.asarray(matrix)
    num_classes = len(matrix)
    figure = Figure(figsize=size, layout="constrained")
    axes = figure.subplots()
    mistakes = matrix.astype(float).copy()
    np.fill_diagonal(mistakes, 0)
    largest_mistake = max(mistakes.max(), 1)
    axes.imshow(mistakes, cmap="Reds", vmin=0, vmax=largest_mistake * 1.25)
    for digit in range(num_classes):
        axes.add_patch(_cell(digit, digit, CORRECT_COLOR))
    for true in range(num_classes):
        for predicted in range(num_classes):
            count = int(matrix[true, predicted])
            on_diagonal = true == predicted
            dark = not on_diagonal and mistakes[true, predicted] > 0.6 * largest_mistake
            axes.text(
                predicted, true, str(count) if count or on_diagonal else "·",
                ha="center", va="center", fontsize=FONT_SIZE - 1 if count < 1000 else FONT_SIZE - 2,
                color="white" if dark else (TEXT_COLOR if count else MUTED_TEXT_COLOR),
                fontweight="bold" if on_diagonal else "normal",
            )
    labels = [str(digit) if digit < 10 else "✗" for digit in range(num_classes)]  # ✗: "not a digit"
    axes.set_xticks(range(num_classes), labels)
    axes.set_yticks(range(num_classes), labels)
    axes.tick_params(length=0, labelsize=FONT_SIZE, labeltop=True, labelbottom=False)
    axes.xaxis.set_label_position("top")
    axes.set_xlabel("the model read", fontsize=FONT_SIZE, color=TEXT_COLOR)
    axes.set_ylabel("the digit was", fontsize=FONT_SIZE, color=TEXT_COLOR)
    for spine in axes.spines.values():
        spine.set_visible(False)
    return figure


def _cell(row, column, color):
    return Rectangle((column - 0.5, row - 0.5), 1, 1, facecolor=color, edgecolor="none", zorder=0.5)


def misclassified_grid(images, predicted, true, confidence=None, columns=8):
    """Test digits the model read wrong, each titled with its reading and the truth."""
    count = len(images)
    rows = max(1, math.ceil(count / columns))
    figure = Figure(figsize=(columns * 1.2, rows * 1.6), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        axes.set_axis_off()
        if index >= count:
            continue
        axes.imshow(images[index], cmap="gray_r", vmin=0, vmax=255)  # dark ink on paper
        title = f"{true[index]} read as {predicted[index]}"
        if confidence is not None:
            title += f"\n{confidence[index]:.0%} sure"
        axes.set_title(title, fontsize=FONT_SIZE - 1, color=MISTAKE_COLOR, pad=3, linespacing=1.3)
    if count == 0:
        grid.flat[0].text(0, 0.5, "No mistakes on the test set.", fontsize=FONT_SIZE)
    return figure


def png_bytes(figure, dpi=150):
    """A figure as PNG bytes, for pages that cache the picture rather than redraw it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def png_data_url(figure, dpi=150):
    """A figure as a data: URL, which arrives with the page update itself. A chart redrawn every
    second as a media file must be fetched each time, and on a busy server it can be replaced
    before it ever shows."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(figure, dpi)).decode("ascii")


def trial_curves(trials, size=(7.5, 2.8)):
    """Each sweep trial's validation accuracy by epoch: one line per trial, finished trials solid,
    pruned ones dotted, the running one dashed. `trials` are digit_app.sweep.trial_rows dicts."""
    figure = Figure(figsize=size, layout="constrained")
    axes = figure.subplots()
    _style(axes)
    axes.set_title("Validation accuracy of each trial", fontsize=FONT_SIZE + 1, color=TEXT_COLOR, loc="left")
    axes.set_xlabel("epoch", fontsize=FONT_SIZE, color=TEXT_COLOR)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    styles = {"complete": "-", "pruned": ":", "running": "--"}
    values = []
    for trial in trials:
        accuracy = trial["val_accuracy"]
        if not accuracy:
            continue
        values.extend(accuracy)
        line, = axes.plot(range(1, len(accuracy) + 1), accuracy, linestyle=styles.get(trial["state"], "-."),
                          marker="o", markersize=3, linewidth=1.5)
        axes.annotate(str(trial["number"]), (len(accuracy), accuracy[-1]), xytext=(3, 0), textcoords="offset points",
                      fontsize=FONT_SIZE - 2, color=line.get_color(), va="center")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    finite = [value for value in values if value is not None and np.isfinite(value)]
    low = max(0.0, math.floor(min(finite) * 10 - 0.5) / 10) if finite else 0.0
    axes.set_ylim(low, 1.0)
    axes.text(1.0, 1.02, "— done   ··· pruned   - - running", transform=axes.transAxes, ha="right",
              fontsize=FONT_SIZE - 1, color=MUTED_TEXT_COLOR)
    return figure
