"""The bar chart of a reading's ten probabilities: large on the Draw page, small for each model
compared on it. A small Vega-Lite spec, no plotting library: it is drawn on every stroke."""

WINNER_COLOR = "#4f46e5"
OTHER_COLOR = "#c7d2fe"
CHART_HEIGHT = 230


def probability_chart_spec(probabilities, digit, height=CHART_HEIGHT, small=False):
    """A Vega-Lite bar chart of the ten probabilities, digits 0-9 along x, the winner highlighted.
    Each bar of 1% or more carries its percentage, unless the chart is small: then only the bars
    and the digits show."""
    values = [
        {"digit": str(d), "probability": float(p), "winner": d == digit, "label": f"{p:.0%}" if p >= 0.01 else ""}
        for d, p in enumerate(probabilities)
    ]
    x = {"field": "digit", "type": "ordinal", "sort": None, "axis": {"labelAngle": 0, "title": None}}
    y = {
        "field": "probability",
        "type": "quantitative",
        "scale": {"domain": [0, 1]},
        "axis": None if small else {"format": "%", "title": None, "tickCount": 5},
    }
    bars = {
        "mark": {"type": "bar", "cornerRadiusTopLeft": 3, "cornerRadiusTopRight": 3},
        "encoding": {
            "x": x,
            "y": y,
            "color": {"condition": {"test": "datum.winner", "value": WINNER_COLOR}, "value": OTHER_COLOR},
            "tooltip": [
                {"field": "digit", "title": "Digit"},
                {"field": "probability", "title": "Probability", "format": ".1%"},
            ],
        },
    }
    text = {
        "mark": {"type": "text", "dy": -8, "fontSize": 12},
        "encoding": {"x": x, "y": y, "text": {"field": "label"}},
    }
    layers = [bars] if small else [bars, text]
    return {"data": {"values": values}, "height": height, "layer": layers}


def with_data_in_layers(spec):
    """The same chart with its data inside each layer. Streamlit turns top-level data into an
    Arrow table through pandas, about 3 ms a stroke for ten bars; data inside the layers goes as
    it is, in the spec's JSON."""
    spec = dict(spec)
    data = spec.pop("data")
    return {**spec, "layer": [{**layer, "data": data} for layer in spec["layer"]]}
