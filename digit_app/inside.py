"""Inside the model, for one drawing: why it reads what it reads, and what each layer sees.

Two questions, answered for the 28x28 image the model sees (digit_app.preprocess):

- Why this reading? A saliency map over the input: how much each pixel pushed the model toward
  its reading and away from the runner-up (the next likeliest answer). Both are measured on the
  margin between the two answers' logits (the inputs of the final softmax), which does not
  saturate as a probability near 100% does. Two methods are offered:
  * gradient x input: the margin's gradient times each pixel's ink, one backward pass;
  * occlusion: the margin lost when a small square of ink is wiped (set to 0), averaged over the
    squares that cover each pixel and weighted by the pixel's ink, one batched forward pass over
    every square centred on ink.
  The Draw page uses SALIENCY_METHOD; bench/saliency.py measures which explains real drawings.
- What does each layer see? Every convolutional layer's activation maps, and every hidden dense
  layer's units, strongest first. Pooling, flattening and dropout add nothing to look at, and the
  final dense layer is the reading itself, shown on the page already.

An Inspector is built once per model (it traces its compiled functions then) and is safe to call
from many threads, as inference.Predictor is. Keras is imported when one is built.
"""

import dataclasses

import numpy as np

GRADIENT_X_INPUT = "gradient x input"
OCCLUSION = "occlusion"
SALIENCY_METHODS = (GRADIENT_X_INPUT, OCCLUSION)
SALIENCY_METHOD = OCCLUSION  # whole strokes, not speckles; its pixels carry the reading (bench/saliency.py)
# Squares of 3 px (a stroke is 2-3 px wide at 28x28) at every pixel. Coarser settings cost fewer
# model calls but name worse pixels: on a drawn 7, wiping the 10 pixels named left 17% of the
# margin at 3 px every pixel, 48% at 3 px every 2, and 104% (no better than random) at 4 px every 2.
OCCLUSION_PATCH = 3
OCCLUSION_STRIDE = 1
STRONGEST_UNITS = 10
CONVOLUTION = "convolution"
DENSE = "dense"
INPUT_SIZE = 28


@dataclasses.dataclass(frozen=True)
class LayerView:
    """One layer's output for one drawing."""

    name: str
    kind: str  # CONVOLUTION or DENSE
    activations: np.ndarray  # CONVOLUTION: (height, width, channels); DENSE: (units,)

    def strongest(self, count=STRONGEST_UNITS):
        """The `count` most active units (dense) or maps (convolution, by their mean activation)
        as (index, activation), strongest first."""
        values = self.activations if self.kind == DENSE else self.activations.mean(axis=(0, 1))
        order = np.argsort(values)[::-1][:count]
        return [(int(index), float(values[index])) for index in order]


@dataclasses.dataclass(frozen=True)
class Saliency:
    """values (28, 28) float32: above 0, the pixel pushed the model toward `reading`; below 0,
    toward `runner_up`. In logit-margin units, comparable within one map."""

    method: str
    reading: int
    runner_up: int
    values: np.ndarray

    def strongest_pixels(self, count):
        """The `count` pixels (row, column) with the largest |value|, largest first."""
        order = np.argsort(np.abs(self.values), axis=None)[::-1][:count]
        return [tuple(int(i) for i in np.unravel_index(index, self.values.shape)) for index in order]


def reading_and_runner_up(probabilities):
    """(reading, runner-up) class indices from one row of class probabilities: the likeliest
    class and the next one. With 11 outputs, class 10 is "not a digit"."""
    order = np.argsort(np.asarray(probabilities))[::-1]
    return int(order[0]), int(order[1])


def inspected_layers(model):
    """The layers worth looking at: (layer, kind) for every convolution and every dense layer
    but the last one (the classifier, whose output is the reading)."""
    import keras

    dense_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense_layers:
        raise ValueError(
            f"Model {model.name!r} has no dense layer; expected a classifier ending in one, as every "
            "architecture in digit_app.architectures does."
        )
    classifier = dense_layers[-1]
    chosen = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            chosen.append((layer, CONVOLUTION))
        elif isinstance(layer, keras.layers.Dense) and layer is not classifier:
            chosen.append((layer, DENSE))
    return chosen, classifier


class Inspector:
    """Looks inside one model: layer_views() and saliency() for a (28, 28) model input."""

    def __init__(self, model):
        import keras
        import tensorflow as tf

        self.model = model
        layers, classifier = inspected_layers(model)
        self.layer_names = [layer.name for layer, _ in layers]
        self.layer_kinds = [kind for _, kind in layers]
        self.has_convolutions = CONVOLUTION in self.layer_kinds
        # Every inspected output and the classifier's input, in one pass.
        features = keras.Model(model.inputs[0], [layer.output for layer, _ in layers] + [classifier.input])
        kernel, bias = classifier.kernel, classifier.bias

        def outputs_and_logits(images):
            outputs = features(images, training=False)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            return list(outputs[:-1]), tf.matmul(outputs[-1], kernel) + bias

        def layers_and_gradient(image, reading, runner_up):
            images = image[None]
            with tf.GradientTape() as tape:
                tape.watch(images)
                outputs, logits = outputs_and_logits(images)
                margin = logits[0, reading] - logits[0, runner_up]
            return [output[0] for output in outputs], tape.gradient(margin, images)[0]

        def margins(images, reading, runner_up):
            _, logits = outputs_and_logits(images)
            return logits[:, reading] - logits[:, runner_up]

        image_spec = tf.TensorSpec([INPUT_SIZE, INPUT_SIZE], tf.float32)
        class_spec = tf.TensorSpec([], tf.int32)
        self._layers_and_gradient = tf.function(
            layers_and_gradient, input_signature=[image_spec, class_spec, class_spec], autograph=False
        )
        self._margins = tf.function(
            margins,
            input_signature=[tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE], tf.float32), class_spec, class_spec],
            autograph=False,
        )
        blank = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
        self._layers_and_gradient(blank, 0, 1)  # trace now, not on the first person's stroke
        self._margins(blank[None], 0, 1)

    def look(self, model_input, reading, runner_up, method=SALIENCY_METHOD):
        """(layer views, Saliency) for one drawing: what inside_panel shows."""
        image = _checked_input(model_input)
        outputs, gradient = self._layers_and_gradient(image, reading, runner_up)
        views = self._views(outputs)
        if method == GRADIENT_X_INPUT:
            values = gradient.numpy() * image
        elif method == OCCLUSION:
            values = self._occlusion(image, reading, runner_up)
        else:
            raise ValueError(f"Unknown saliency method {method!r}; expected one of {SALIENCY_METHODS}.")
        return views, Saliency(method, int(reading), int(runner_up), values.astype(np.float32))

    def layer_views(self, model_input):
        """Every inspected layer's output for one drawing, in the model's order."""
        outputs, _ = self._layers_and_gradient(_checked_input(model_input), 0, 1)
        return self._views(outputs)

    def saliency(self, model_input, reading, runner_up, method=SALIENCY_METHOD):
        """Which pixels pushed the model toward `reading` (> 0) and toward `runner_up` (< 0)."""
        return self.look(model_input, reading, runner_up, method)[1]

    def margins(self, images, reading, runner_up):
        """The logit margin of `reading` over `runner_up` for each of images (N, 28, 28) float32."""
        return self._margins(np.asarray(images, np.float32), reading, runner_up).numpy()

    def _views(self, outputs):
        return [
            LayerView(name, kind, output.numpy())
            for name, kind, output in zip(self.layer_names, self.layer_kinds, outputs, strict=True)
        ]

    def _occlusion(self, image, reading, runner_up, patch=OCCLUSION_PATCH, stride=OCCLUSION_STRIDE):
        """Mean margin lost, over the patch x patch squares that cover each pixel, when a square is
        wiped. Only squares centred on ink are run: about 145 on a drawing rather than the 250 that
        touch ink, and on the app drawings the pixels they name carry at least as much of the
        reading (bench/saliency.py)."""
        corners = [
            (row, column)
            for row in range(0, INPUT_SIZE - patch + 1, stride)
            for column in range(0, INPUT_SIZE - patch + 1, stride)
            if image[row + patch // 2, column + patch // 2] > 0
        ]
        if not corners:
            return np.zeros_like(image)
        wiped = np.repeat(image[None], len(corners) + 1, axis=0)
        for index, (row, column) in enumerate(corners, start=1):
            wiped[index, row : row + patch, column : column + patch] = 0
        margins = self.margins(wiped, reading, runner_up)
        lost = margins[0] - margins[1:]
        total = np.zeros_like(image)
        covered = np.zeros_like(image)
        for (row, column), value in zip(corners, lost, strict=True):
            total[row : row + patch, column : column + patch] += value
            covered[row : row + patch, column : column + patch] += 1
        # Wiping a square removes only its ink: each pixel answers in proportion to the ink it holds.
        return np.divide(total, covered, out=np.zeros_like(image), where=covered > 0) * image


def _checked_input(model_input):
    image = np.asarray(model_input, np.float32)
    if image.shape != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(
            f"Expected the (28, 28) image the model sees (digit_app.preprocess.canvas_to_mnist), got shape {image.shape}."
        )
    return image


# The pictures, drawn with numpy in the page's colours: white is nothing.
READING_RGB = (79, 70, 229)  # the page's winner colour (digit_app/ui/draw.py WINNER_COLOR)
RUNNER_UP_RGB = (234, 88, 12)
ACTIVATION_RGB = (30, 27, 75)
WHITE = 255
GAP_LEVEL = 210  # grey of the gaps between maps and of the grid between enlarged pixels
SALIENCY_SCALE = 7  # as the page's "What the model sees" (digit_app/ui/draw.py PIXEL_SCALE)
MAP_COLUMNS = 8
MAP_TILE = 40  # px: each activation map is enlarged by a whole factor to about this size
MAP_GAP = 2


def _ramp(strength, rgb):
    """(H, W) strengths in [0, 1] -> (H, W, 3) uint8, white at 0 and `rgb` at 1."""
    strength = np.clip(strength, 0, 1)[..., None]
    return np.round(WHITE - strength * (WHITE - np.asarray(rgb, np.float32))).astype(np.uint8)


def _enlarge(image, scale):
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def saliency_image(saliency, scale=SALIENCY_SCALE):
    """The map as an RGB image `scale` times larger: the reading's colour where a pixel pushed
    toward the reading, the runner-up's where it pushed toward the runner-up, deeper the more it
    did (relative to the map's strongest pixel), white where it did neither."""
    values = np.asarray(saliency.values, np.float32)
    largest = float(np.abs(values).max())
    strength = np.abs(values) / largest if largest > 0 else np.zeros_like(values)
    image = np.where((values >= 0)[..., None], _ramp(strength, READING_RGB), _ramp(strength, RUNNER_UP_RGB))
    enlarged = _enlarge(image, scale)
    enlarged[::scale, :] = np.minimum(enlarged[::scale, :], GAP_LEVEL)  # a faint grid: one square a pixel
    enlarged[:, ::scale] = np.minimum(enlarged[:, ::scale], GAP_LEVEL)
    return enlarged


def saliency_strength(image, scale=SALIENCY_SCALE):
    """Back from saliency_image: (28, 28) |value| relative to the strongest, read from the centre
    of each enlarged pixel's square (what the browser test measures on the page's picture)."""
    centres = np.asarray(image)[scale // 2 :: scale, scale // 2 :: scale, :3].astype(np.float32)
    reading = (WHITE - centres.min(axis=2)) / (WHITE - min(READING_RGB))
    runner_up = (WHITE - centres.min(axis=2)) / (WHITE - min(RUNNER_UP_RGB))
    toward_reading = centres[..., 2] >= centres[..., 0]  # blue over red
    return np.where(toward_reading, reading, runner_up)


def maps_image(view, columns=MAP_COLUMNS, tile=MAP_TILE, gap=MAP_GAP):
    """A convolution layer's maps side by side, `columns` a row, each enlarged to about `tile` px,
    dark where the map is active. One scale for the whole layer: a weak map looks weak."""
    if view.kind != CONVOLUTION:
        raise ValueError(f"Layer {view.name!r} is {view.kind}; only a convolution has maps to draw.")
    height, width, channels = view.activations.shape
    scale = max(1, round(tile / max(height, width)))
    largest = float(view.activations.max())
    strength = view.activations / largest if largest > 0 else np.zeros_like(view.activations)
    rows = -(-channels // columns)
    tile_height, tile_width = height * scale, width * scale
    mosaic = np.full(
        (rows * tile_height + (rows - 1) * gap, columns * tile_width + (columns - 1) * gap, 3), GAP_LEVEL, np.uint8
    )
    for channel in range(channels):
        row, column = divmod(channel, columns)
        top, left = row * (tile_height + gap), column * (tile_width + gap)
        mosaic[top : top + tile_height, left : left + tile_width] = _enlarge(
            _ramp(strength[:, :, channel], ACTIVATION_RGB), scale
        )
    return mosaic
