import math
import threading

import numpy as np
import pytest

from digit_app import handwriting
from digit_app.architectures import ARCHITECTURES, MIXED_PRECISION, bfloat16_processor, build_model, trains_in_bfloat16
from digit_app.evaluation import canvas_accuracy, to_model_input
from digit_app.settings import (
    DRAWINGS_LOSS_SHARE, MAX_DRAWING_WEIGHT, TrainingSettings, capped_train_samples, digits_learned_from,
)
from digit_app.training import (
    MIN_VALIDATION_SAMPLE_SIZE,
    _dataset,
    VALIDATIONS_PER_EPOCH,
    augment_batch,
    drawing_weight,
    sample_loss_and_accuracy,
    split_train_validation,
    train,
    validation_sample,
)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_gives_ten_probabilities(name):
    model = build_model(name, seed=0)
    out = model(np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)).numpy()
    assert out.shape == (3, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1, atol=1e-5)
    assert (out >= 0).all()


@pytest.mark.parametrize(
    "flags, native",
    [("fpu sse avx512f amx_bf16 amx_tile", True), ("fpu avx512f avx512_bf16", True), ("fpu sse avx2 avx512f", False)],
)
def test_bfloat16_is_used_only_where_the_processor_computes_it(tmp_path, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: some cpu\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    assert bfloat16_processor(cpuinfo) is native
    assert bfloat16_processor(tmp_path / "missing") is False


def test_the_notebook_nets_train_in_float32():
    assert not trains_in_bfloat16("dense-128") and not trains_in_bfloat16("dense-32-64")
    assert trains_in_bfloat16("cnn") is bfloat16_processor()


def test_a_mixed_precision_cnn_computes_in_bfloat16_and_answers_in_float32():
    model = build_model("cnn", seed=0, dtype_policy=MIXED_PRECISION)
    assert model.get_layer("conv_32a").compute_dtype == "bfloat16"
    assert model.get_layer("conv_32a").kernel.dtype == "float32"
    out = model(np.random.default_rng(0).random((2, 28, 28), dtype=np.float32))
    assert out.dtype == "float32"
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1, atol=1e-5)
    assert build_model("cnn", seed=0).get_layer("conv_32a").compute_dtype == "float32"  # the policy was put back


@pytest.mark.skipif(not bfloat16_processor(), reason="this processor does not compute bfloat16")
def test_a_cnn_trained_in_bfloat16_is_kept_in_float32_with_its_weights(small_mnist):
    result = train(TrainingSettings("cnn", epochs=2, batch_size=100, handwriting=False), data=small_mnist)
    assert result.precision == MIXED_PRECISION and result.metadata("test")["precision"] == MIXED_PRECISION
    assert {layer.compute_dtype for layer in result.model.layers} == {"float32"}
    assert result.test_accuracy > 0.8  # 1,800 digits, 2 epochs: it learnt in bfloat16
    fine_tuned = train(TrainingSettings("cnn", epochs=1, batch_size=100, handwriting=False), data=small_mnist,
                       initial_model=result.model)
    assert fine_tuned.precision == "float32"  # a fine-tune starts from the kept float32 model


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="Unknown architecture 'resnet'"):
        build_model("resnet")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "Epochs"),
        ({"epochs": 51}, "Epochs"),
        ({"epochs": 2.5}, "Epochs"),
        ({"batch_size": -1}, "Batch size"),
        ({"learning_rate": 0}, "Learning rate"),
        ({"validation_fraction": 0.9}, "Validation fraction"),
        ({"architecture": "mlp"}, "Unknown architecture"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainingSettings(**kwargs)


def test_validation_is_held_out_from_training_only(small_mnist):
    x_train, y_train, x_val, y_val = split_train_validation(small_mnist.x_train, small_mnist.y_train, 0.1, seed=0)
    assert len(x_val) == 200 and len(x_train) == 1800
    train_rows = {row.tobytes() for row in x_train}
    assert not any(row.tobytes() in train_rows for row in x_val)


def test_training_learns_and_reports_each_batch_and_epoch(small_mnist):
    batches, epochs = [], []
    result = train(
        TrainingSettings("dense-128", epochs=2, batch_size=100, handwriting=False),
        data=small_mnist,
        on_batch_end=batches.append,
        on_epoch_end=lambda epoch, logs: epochs.append((epoch, logs)),
    )
    assert [e for e, _ in epochs] == [1, 2]
    assert len(batches) == 2 * 18 and batches[-1]["batch"] == 18 and batches[-1]["epoch"] == 2
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert result.history["loss"][1] < result.history["loss"][0]
    assert result.test_accuracy > 0.7  # 1,800 digits, 2 epochs: far above chance
    assert result.epochs_completed == 2 and not result.stopped_early


def test_each_epoch_is_a_new_shuffle_of_the_whole_training_set_without_autotuning():
    labels = np.arange(250)
    dataset = _dataset(np.zeros((250, 28, 28), np.float32), labels, 100, augment=False, seed=0)
    epochs = [[batch[1].numpy() for batch in dataset] for _ in range(2)]
    assert [[len(batch) for batch in epoch] for epoch in epochs] == [[100, 100, 50]] * 2
    first, second = (np.concatenate(epoch) for epoch in epochs)
    assert np.array_equal(np.sort(first), labels) and np.array_equal(np.sort(second), labels)
    assert not np.array_equal(first, second) and not np.array_equal(first, labels)
    assert dataset.options().autotune.enabled is False  # its thread held up every other epoch's end


def test_same_seed_same_model(small_mnist):
    settings = TrainingSettings("dense-32-64", epochs=1, seed=7)
    first = train(settings, data=small_mnist)
    second = train(settings, data=small_mnist)
    assert first.history == second.history


def test_stop_event_ends_training_after_the_current_batch(small_mnist):
    stop = threading.Event()
    seen = []

    def on_batch(progress):
        seen.append(progress)
        if progress["batch"] == 3:
            stop.set()

    result = train(TrainingSettings("dense-128", epochs=5, batch_size=50), data=small_mnist,
                   on_batch_end=on_batch, stop_event=stop)
    assert len(seen) == 3
    assert result.stopped_early and result.epochs_completed == 0
    # Nothing is kept of a broken first epoch, so nothing is checked: a stop ends it at once.
    assert math.isnan(result.test_accuracy) and result.test_probabilities is None and result.canvas_accuracy is None


def test_augmentation_keeps_digits_recognisable(small_mnist):
    images = to_model_input(small_mnist.x_train[:64])
    augmented = augment_batch(images).numpy()
    assert augmented.shape == images.shape and augmented.min() >= 0 and augmented.max() <= 1
    assert not np.allclose(augmented, images)
    # Ink is moved and reshaped, not lost or multiplied.
    ratio = augmented.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert 0.4 < np.median(ratio) < 2.0


def test_drawings_are_trained_on_and_recorded(small_mnist):
    # Ten copies of one blank image labelled 3, weighted heavily: the model learns to say 3 for blank.
    blank = np.zeros((10, 28, 28), np.uint8)
    result = train(TrainingSettings("dense-128", epochs=2, max_train_samples=500), data=small_mnist,
                   drawings=(blank, np.full(10, 3)), drawings_loss_share=0.3)
    assert int(np.argmax(result.model(to_model_input(blank[:1])).numpy())) == 3
    # 450 MNIST digits (500 less 10% validation): 0.3 * 450 / (0.7 * 10) = 19.3 each
    assert result.num_mnist == 450 and result.drawing_weight == pytest.approx(drawing_weight(10, 450, share=0.3))
    metadata = result.metadata("test")
    assert metadata["drawings_included"] == 10 and metadata["drawing_weight"] == result.drawing_weight


@pytest.mark.parametrize(
    ("num_drawings", "num_mnist", "expected"),
    [
        (40, 9500, 0.05 * 9500 / (0.95 * 40)),  # the share reached: 12.5 each
        (10, 9500, MAX_DRAWING_WEIGHT),  # 50 would let ten drawings swamp their batches
        (500, 1000, 1.0),  # never less than an MNIST digit
    ],
)
def test_drawing_weight_gives_the_drawings_their_share_within_limits(num_drawings, num_mnist, expected):
    weight = drawing_weight(num_drawings, num_mnist)
    assert weight == pytest.approx(expected)
    if expected not in (1.0, MAX_DRAWING_WEIGHT):
        share = num_drawings * weight / (num_drawings * weight + num_mnist)
        assert share == pytest.approx(DRAWINGS_LOSS_SHARE)


@pytest.mark.parametrize(("num_drawings", "num_mnist", "share"), [(0, 100, 0.05), (10, -1, 0.05), (10, 100, 1.0)])
def test_drawing_weight_refuses_nonsense(num_drawings, num_mnist, share):
    with pytest.raises(ValueError, match="expected"):
        drawing_weight(num_drawings, num_mnist, share=share)


def test_generated_handwriting_is_mixed_in_and_gives_a_not_a_digit_output(small_mnist):
    batches = []
    result = train(TrainingSettings("dense-128", epochs=1, batch_size=100, max_train_samples=1000), data=small_mnist,
                   on_batch_end=batches.append)
    mix = result.handwriting
    assert result.model.output_shape[-1] == 11
    assert mix["generator_version"] == handwriting.GENERATOR_VERSION and mix["non_digits"] > 0
    assert batches[-1]["batches"] == math.ceil((900 + mix["drawings"]) / 100)  # MNIST less validation, and the drawings
    assert 0.5 <= result.temperature <= 8
    metadata = result.metadata("test")
    assert metadata["handwriting"] == mix and metadata["classes"] == 11
    assert metadata["temperature"] == result.temperature and metadata["settings"]["handwriting"] is True
    assert metadata["canvas_accuracy"] == result.canvas_accuracy == canvas_accuracy(result.model, result.temperature)


def test_without_handwriting_a_model_has_ten_outputs_and_no_mix(small_mnist):
    result = train(TrainingSettings("dense-128", epochs=1, max_train_samples=500, handwriting=False), data=small_mnist)
    assert result.model.output_shape[-1] == 10 and result.handwriting is None
    assert result.metadata("test")["classes"] == 10


def test_fine_tuning_a_ten_output_model_keeps_its_outputs_and_learns_digits_only(small_mnist):
    base = train(TrainingSettings("dense-128", epochs=1, max_train_samples=500, handwriting=False), data=small_mnist)
    tuned = train(TrainingSettings("dense-128", epochs=1, max_train_samples=500), data=small_mnist, initial_model=base.model)
    assert tuned.model.output_shape[-1] == 10
    assert tuned.handwriting["non_digits"] == 0 and tuned.handwriting["drawings"] > 0


def test_the_validation_sample_is_checked_several_times_within_one_epoch(small_mnist):
    checks = []
    settings = TrainingSettings("dense-128", epochs=1, batch_size=100, handwriting=False)
    result = train(settings, data=small_mnist, on_validation=checks.append)

    # Before the first batch, then at 5 batches spread evenly over the 18, the last one included.
    assert [point[2] for point in checks] == [0, 4, 7, 11, 14, 18]
    assert [point[0] for point in checks] == [0, round(4 / 18, 4), round(7 / 18, 4), round(11 / 18, 4),
                                              round(14 / 18, 4), 1.0]
    assert result.curves["validation"] == checks
    assert checks[-1][3] < checks[0][3] / 2  # the loss falls as the network learns
    assert checks[-1][4] > checks[0][4] + 0.4

    # The last check is the trained model on the same fixed sample, worked out again here.
    _, _, x_val, y_val = split_train_validation(small_mnist.x_train, small_mnist.y_train, 0.1, seed=0)
    images, labels = validation_sample(x_val, y_val, 1800, seed=0)
    assert len(labels) == result.sample_size == MIN_VALIDATION_SAMPLE_SIZE
    loss, accuracy = sample_loss_and_accuracy(result.model, images, labels)
    assert checks[-1][3] == pytest.approx(loss, rel=1e-3) and checks[-1][4] == pytest.approx(accuracy)


def test_checking_the_validation_sample_leaves_training_as_it_was(small_mnist):
    settings = TrainingSettings("dense-128", epochs=2, batch_size=100, handwriting=False)
    with_checks = train(settings, data=small_mnist)
    without = train(settings, data=small_mnist, validations_per_epoch=0)
    assert with_checks.history == without.history
    assert len(with_checks.curves["validation"]) == 1 + 2 * VALIDATIONS_PER_EPOCH
    assert without.curves["validation"] == [] and without.check_seconds == []


def test_the_curves_are_kept_in_the_metadata(small_mnist):
    result = train(TrainingSettings("dense-128", epochs=2, batch_size=100, max_train_samples=1000, handwriting=False),
                   data=small_mnist)
    metadata = result.metadata("test")
    assert metadata["training_digits"] == 900
    batches = metadata["curves"]["batches"]
    assert [point[:3] for point in batches[:2]] == [[round(1 / 9, 4), 1, 1], [round(2 / 9, 4), 1, 2]]
    assert len(batches) == 2 * 9 and batches[-1][:3] == [2.0, 2, 9]
    assert [point[1] for point in metadata["curves"]["validation"]] == [1] * 6 + [2] * 5


@pytest.mark.parametrize(
    "chosen, limit, expected",
    [(None, None, None), (5000, None, 5000), (None, 1000, 1000), (5000, 1000, 1000), (1000, 5000, 1000)],
)
def test_the_environment_limit_caps_the_chosen_training_set(chosen, limit, expected):
    assert capped_train_samples(chosen, limit) == expected


@pytest.mark.parametrize("max_train_samples, fraction, expected", [(None, 0.1, 54000), (1000, 0.1, 900), (None, 0.2, 48000)])
def test_digits_learned_from_are_the_training_set_less_validation(max_train_samples, fraction, expected):
    assert digits_learned_from(max_train_samples, fraction) == expected


def test_digits_learned_from_are_what_training_learns_from(small_mnist):
    result = train(TrainingSettings("dense-128", epochs=1, max_train_samples=700, handwriting=False), data=small_mnist)
    assert result.num_mnist == digits_learned_from(700, 0.1) == 630
