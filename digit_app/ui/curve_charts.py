"""Interactive training curves (Vega-Lite through Altair) for the Train, My drawings and Models pages.

Each chart shows one metric by epoch: loss on a log scale, so that the fall from 2.3 at the start
does not flatten the late progress, and accuracy from a little below its lowest value to 100%.
Hovering anywhere picks the nearest point and shows its series, epoch, batch and value.

Charts render as SVG: each point is an element with an accessible label, which is also how the
browser tests count the points of a curve. The running training curve is thinned to
MAX_POINTS_PER_SERIES so that a long run stays light to redraw every second.
"""

import functools
import math

import altair as alt
import streamlit as st

from digit_app import curves
from digit_app.ui.charts import MUTED_TEXT_COLOR, TRAINING_COLOR, VALIDATION_COLOR

VALIDATION_EPOCH_COLOR = "#b45309"  # a darker amber: the whole held-out set, at each epoch's end
SERIES_COLORS = {curves.TRAINING: TRAINING_COLOR, curves.VALIDATION_SAMPLE: VALIDATION_COLOR,
                 curves.VALIDATION_EPOCH: VALIDATION_EPOCH_COLOR}
MAX_POINTS_PER_SERIES = 400
DATASET = "points"
PLOT_HEIGHT = 200  # the plotting area; the title, axes and legend come on top
TITLES = {"loss": ("Loss", "log scale: late progress stays visible"),
          "accuracy": ("Accuracy", "the axis fits the later half of training")}
# Shown when a hovered point has no batch: a model saved before points within epochs were kept.
END_OF_EPOCH = "end"


def thinned(rows, limit=MAX_POINTS_PER_SERIES):
    """Every k-th row of each (series, metric), always keeping the last, so that none has more than `limit`."""
    groups = {}
    for row in rows:
        groups.setdefault((row["series"], row["metric"]), []).append(row)
    kept = []
    for group in groups.values():
        step = math.ceil(len(group) / limit)
        kept += [row for index, row in enumerate(group) if index % step == 0 or index == len(group) - 1]
    return kept


def accuracy_floor(rows, group_field="series"):
    """Where the accuracy axis starts: a little below the lowest value of the later half of each
    curve (rows grouped by `group_field`), in steps of 10%, so that the 95-99% a good model reaches
    late is not squeezed against the top by the 10% it starts from. Earlier points below it are
    cut off at the bottom."""
    groups = {}
    for row in rows:
        groups.setdefault(row[group_field], []).append(row)
    later = []
    for group in groups.values():
        half_way = max(row["fractional_epoch"] for row in group) / 2
        later += [row["value"] for row in group if row["fractional_epoch"] >= half_way]
    return max(0.0, math.floor(min(later) * 10 - 0.5) / 10) if later else 0.0


def metric_chart(rows, metric, color_field, colors, total_epochs=None, unmarked=()):
    """One metric's curves as a Vega-Lite spec, one colour per value of `color_field` (`colors`:
    value -> colour, in legend order). Lines join the points of each colour, and each point is
    marked, but for the colours in `unmarked` (too many points to mark), which show when hovered."""
    rows = [_with_display_fields(row, color_field) for row in rows if row["metric"] == metric]
    last_epoch = max([total_epochs or 0, *(row["fractional_epoch"] for row in rows), 1])
    low = accuracy_floor(rows, color_field) if metric == "accuracy" else None
    # The three curves of a training on one line; model names, which can be long, one a line.
    legend_columns = 3 if color_field == "series" else 1
    spec = _spec(metric, color_field, tuple(colors.items()), last_epoch, low, tuple(unmarked), legend_columns)
    return {**spec, "datasets": {DATASET: rows}}


@functools.lru_cache(maxsize=64)
def _spec(metric, color_field, colors, last_epoch, accuracy_floor_value, unmarked, legend_columns):
    """The spec without its data, built by Altair once per shape: Altair checks a spec against
    the Vega-Lite schema as it builds it, which takes a page tenths of a second."""
    colors = dict(colors)
    # A little room right of the last epoch: its end-of-epoch points are drawn whole, not cut in half.
    x = alt.X("fractional_epoch:Q", title="epoch", scale=alt.Scale(domain=[0, last_epoch * 1.03], nice=False),
              axis=alt.Axis(tickMinStep=1, format="d"))
    if metric == "loss":
        y = alt.Y("value:Q", title=None, scale=alt.Scale(type="log", nice=False, padding=6),
                  axis=alt.Axis(format="~g"))
    else:
        y = alt.Y("value:Q", title=None, scale=alt.Scale(domain=[accuracy_floor_value, 1]), axis=alt.Axis(format="%"))
    color = alt.Color(f"{color_field}:N", title=None, scale=alt.Scale(domain=list(colors), range=list(colors.values())),
                      legend=alt.Legend(orient="bottom", symbolType="stroke", labelLimit=320, columns=legend_columns))
    value_format = ".4f" if metric == "loss" else ".2%"
    tooltip = [alt.Tooltip(f"{color_field}:N", title="curve"), alt.Tooltip("epoch:Q", title="epoch"),
               alt.Tooltip("batch_text:N", title="batch"), alt.Tooltip("value:Q", title=metric, format=value_format)]
    hover = alt.selection_point(name="hover", on="pointerover", nearest=True,
                                fields=["fractional_epoch", color_field], empty=False, clear="pointerout")
    base = alt.Chart(alt.NamedData(name=DATASET)).encode(x=x, y=y, color=color)
    lines = base.mark_line(strokeWidth=2, clip=True).encode(detail="line:N")
    opacity = alt.when(hover).then(alt.value(1))
    if unmarked:
        opacity = opacity.when(alt.FieldOneOfPredicate(field=color_field, oneOf=list(unmarked))).then(alt.value(0))
    points = base.mark_point(filled=True, size=36, clip=True).encode(
        opacity=opacity.otherwise(alt.value(1)),
        size=alt.condition(hover, alt.value(90), alt.value(36)),
        shape=alt.Shape(f"{color_field}:N", legend=None,
                        scale=alt.Scale(domain=list(colors), range=_shapes(colors))),
        tooltip=tooltip,
    ).add_params(hover)
    chart = alt.layer(lines, points).properties(
        title=alt.TitleParams(TITLES[metric][0], subtitle=TITLES[metric][1], anchor="start", fontSize=14,
                              color="#111827", subtitleColor=MUTED_TEXT_COLOR),
        height=PLOT_HEIGHT, width="container", usermeta={"embedOptions": {"renderer": "svg", "actions": False}},
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )
    return chart.configure_axis(labelColor=MUTED_TEXT_COLOR, titleColor=MUTED_TEXT_COLOR).to_dict()


def _with_display_fields(row, color_field):
    """The row with `batch_text` for the tooltip, and `line`: the line it belongs to. Keras'
    running training mean starts afresh each epoch, so each epoch's training points get a line of
    their own rather than a drop joined to the last one."""
    line = row[color_field]
    if row["series"] == curves.TRAINING and row["batch"] is not None:
        line = f"{line} {row['epoch']}"
    batch_text = END_OF_EPOCH if row["batch"] is None else str(int(row["batch"]))  # progress.json gives 11.0
    return {**row, "batch_text": batch_text, "line": line}


def _shapes(colors):
    """Circles for the sample's checks, squares for the epochs' ends, circles otherwise."""
    return ["square" if name == curves.VALIDATION_EPOCH else "circle" for name in colors]


def training_charts(history=None, batch_points=(), validation_points=(), batches_per_epoch=None, total_epochs=None):
    """(loss spec, accuracy spec) of one training, live or finished, for st.vega_lite_chart."""
    rows = thinned(curves.curve_rows(history, batch_points, validation_points, batches_per_epoch))
    present = {row["series"] for row in rows}
    colors = {name: color for name, color in SERIES_COLORS.items() if name in present} or SERIES_COLORS
    return tuple(metric_chart(rows, metric, "series", colors, total_epochs, unmarked=[curves.TRAINING])
                 for metric in ("loss", "accuracy"))


def comparison_charts(models, palette=None):
    """(loss spec, accuracy spec) of the validation curves of several saved models, one colour
    each; `models` are store metadata dicts, labelled by their name when they have one."""
    rows = []
    for meta in models:
        label = model_label(meta)
        for fractional_epoch, epoch, batch, loss, accuracy in curves.validation_curve(meta):
            for metric, value in (("loss", loss), ("accuracy", accuracy)):
                if value is not None and math.isfinite(value):
                    rows.append({"fractional_epoch": fractional_epoch, "epoch": epoch, "batch": batch,
                                 "model": label, "metric": metric, "value": value, "series": label})
    labels = [model_label(meta) for meta in models]
    palette = palette or COMPARISON_PALETTE
    colors = {label: palette[index % len(palette)] for index, label in enumerate(labels)}
    return tuple(metric_chart(rows, metric, "model", colors) for metric in ("loss", "accuracy"))


COMPARISON_PALETTE = ["#4f46e5", "#f59e0b", "#10b981", "#ef4444", "#0ea5e9", "#a855f7", "#84cc16", "#64748b"]


def model_label(meta):
    """'name (id)' when the model has a name, else its id."""
    name = (meta.get("name") or "").strip()
    return f"{name} ({meta['id']})" if name else meta["id"]


def show_charts(specs, key, stacked=False):
    """Loss and accuracy side by side, or one above the other in a narrow column. The key keeps
    each chart the same element from one redraw to the next, so that a live chart is updated in place."""
    places = [st.container(), st.container()] if stacked else st.columns(2, gap="medium")
    for place, spec, metric in zip(places, specs, ("loss", "accuracy")):
        place.vega_lite_chart(spec, width="stretch", key=f"{key}_{metric}")


def show_job_charts(snapshot, key, stacked=False):
    """The charts of a training or fine-tuning job, running or ended (a digit_app.jobs snapshot)."""
    specs = training_charts(snapshot.history, snapshot.batch_points, snapshot.validation_points,
                            snapshot.batches_per_epoch or None, snapshot.settings.epochs)
    show_charts(specs, key, stacked)


def show_model_charts(meta, key):
    """The charts of a saved model, from its metadata (only the epochs' ends for older models)."""
    saved = meta.get("curves") or {}
    epochs = meta.get("epochs")
    batches = saved.get("batches") or []
    show_charts(training_charts(meta.get("history"), batches, saved.get("validation") or (),
                                batches[-1][2] if batches else None, epochs if isinstance(epochs, int) else None), key)
