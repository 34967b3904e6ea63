"""CaptionMetrics: free-running validation scores every epoch, and the best epoch kept, not the last."""
import keras
import numpy as np
import pytest

from showattend import Captioner, CaptionDataset, Vocabulary, load_captioner
from showattend.callbacks import CaptionMetrics, HistoryCSV, read_history
from showattend.evaluation import cider_d, corpus_bleu4
from showattend.datasets import shapes

CAPTION = "a red circle on a grey ground"


@pytest.fixture(scope="module")
def one_sentence():
    """Every image has the same caption: a captioner learns it in a few steps."""
    images = shapes("train", 32, seed=4).images
    data = CaptionDataset(images, [[CAPTION]] * len(images))
    return data, Vocabulary.build([CAPTION], min_count=1)


def test_bleu_and_cider_match_by_hand_and_are_never_nan():
    refs = [[["a", "red", "circle", "on", "grey"]], [["a", "blue", "square", "on", "grey"]]]
    assert corpus_bleu4(refs, [r[0] for r in refs]) == pytest.approx(1.0)
    assert corpus_bleu4(refs, [[], []]) == 0.0 and cider_d(refs, [[], []]) == 0.0
    assert corpus_bleu4(refs, [["a"], ["b"]]) == 0.0  # no 4-gram: 0, not nltk's 1e-231
    # one wrong word in five: 4-gram precision 1/2 in each, clipped counts (nltk = coco on equal lengths)
    half = corpus_bleu4(refs, [["a", "red", "circle", "on", "blue"], ["a", "blue", "square", "on", "blue"]])
    assert half == pytest.approx((0.8 * 0.75 * (2 / 3) * 0.5) ** 0.25, rel=1e-6)
    assert cider_d(refs, [r[0] for r in refs]) > 5 * cider_d(refs, [["a", "red", "square"], ["a", "red", "circle"]])


def test_scores_are_in_every_epochs_logs_and_the_best_epoch_is_kept(one_sentence, tmp_path):
    data, vocabulary = one_sentence
    keras.utils.set_random_seed(0)
    # a frozen backbone: its batch norm reads the same statistics in training and in captioning
    model = Captioner("small_vgg", vocabulary, units=32, embed_dim=16, attention_dim=16, dropout=0.0, seed=0,
                      max_length=10, doubly_stochastic=0.0, train_backbone=False)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)

    class BreakTheLastEpoch(keras.callbacks.Callback):
        """Zeroes the output layer during the last epoch: its captions are empty, its BLEU-4 is 0."""

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 3:
                for weight in self.model.decoder.output_logits.weights:
                    weight.assign(np.zeros(weight.shape, "float32"))

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    metrics = CaptionMetrics(data, max_images=8, seed=1)
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_bleu4", mode="max",
                                                 save_best_only=True)
    stop = keras.callbacks.EarlyStopping(monitor="val_bleu4", mode="max", patience=5)
    # CaptionMetrics listed first, so the checkpoint reads this epoch's score
    history = model.fit(data, epochs=4, batch_size=8, verbose=0,
                        callbacks=[metrics, BreakTheLastEpoch(), checkpoint, stop, HistoryCSV(tmp_path / "h.csv")])
    bleu = history.history["val_bleu4"]
    assert len(bleu) == len(history.history["val_cider"]) == 4
    assert max(bleu[:3]) > 0.5 and bleu[3] == 0.0 and metrics.last_captions[0].text == ""
    assert [row["val_bleu4"] for row in read_history(tmp_path / "h.csv")] == pytest.approx(bleu)
    best = load_captioner(tmp_path / "best.keras")
    again = CaptionMetrics(data, max_images=8, seed=1)
    again.set_model(best)
    logs = {}
    again.on_epoch_end(0, logs)
    assert logs["val_bleu4"] == pytest.approx(max(bleu), abs=1e-6)  # the best epoch's model, not the last


def test_history_csv_replaces_a_rerun_epochs_row(tmp_path):
    path = tmp_path / "history.csv"
    writer = HistoryCSV(path)
    for epoch, loss in ((0, 3.0), (1, 2.0), (2, 1.5)):
        writer.on_epoch_end(epoch, {"loss": loss})
    writer.on_epoch_end(1, {"loss": 1.9, "val_bleu4": 0.2})  # resumed after epoch 1's backup
    assert read_history(path) == [{"epoch": 1, "loss": 3.0}, {"epoch": 2, "loss": 1.9, "val_bleu4": 0.2}]


def test_bad_arguments():
    with pytest.raises(ValueError, match="CaptionDataset"):
        CaptionMetrics(np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="max_images"):
        CaptionMetrics(shapes("val", 2), max_images=0)


def _events(folder):
    import tensorflow as tf

    for path in sorted(folder.rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                yield path.parent.name, value.tag, event.step, value


def test_tensorboard_gets_the_scores_and_an_attention_figure_every_epoch(one_sentence, tmp_path):
    from showattend.training import Recipe, fit_best

    data, vocabulary = one_sentence
    keras.utils.set_random_seed(0)
    model = Captioner("small_vgg", vocabulary, units=16, embed_dim=8, attention_dim=8, seed=0, max_length=10,
                      train_backbone=False)
    fit_best(model, data, data.subset(range(4)), str(tmp_path / "run"), epochs=2, batch_size=16,
             recipe=Recipe(learning_rate=1e-2, val_images=4), tensorboard=str(tmp_path / "logs"), verbose=0)
    events = list(_events(tmp_path / "logs"))
    bleu = sorted(step for run, tag, step, _ in events if run == "validation" and tag == "epoch_bleu4")
    assert bleu == [0, 1]
    figures = [(step, value) for run, tag, step, value in events if run == "attention" and tag == "attention_0"]
    assert [step for step, _ in figures] == [0, 1]
    import tensorflow as tf

    encoded = tf.make_ndarray(figures[-1][1].tensor)  # [width, height, PNG bytes]
    assert int(encoded[0]) > 300 and tf.io.decode_png(encoded[2]).shape[-1] in (3, 4)
