"""End to end: a tiny captioner learns the shapes data in half a minute on a CPU. (How well the demo's
recipe learns, over seeds, is measured in benchmarks/demo_seeds.py.)"""
import dataclasses
import json

import keras
import numpy as np
import pytest

from showattend import Captioner, Vocabulary, load_captioner
from showattend.datasets import shapes
from showattend.callbacks import CaptionMetrics, read_history
from showattend.demo import DEMO_MODEL, DEMO_RECIPE
from showattend.training import fit_best
from showattend.evaluation import evaluate


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The demo's recipe (training.fit_best) at a small scale: 400 images, 5 epochs."""
    keras.utils.set_random_seed(0)
    train, val = shapes("train", 400, seed=11), shapes("val", 64, seed=11)
    vocabulary = Vocabulary.build(train.all_captions(), min_count=1)
    model = Captioner(vocabulary=vocabulary, seed=0, **DEMO_MODEL)
    folder = tmp_path_factory.mktemp("training")
    best = fit_best(model, train, val, str(folder), epochs=5, batch_size=64,
                    recipe=dataclasses.replace(DEMO_RECIPE, learning_rate=3e-3, val_images=64), verbose=0)
    history = {k: [r[k] for r in read_history(folder / "history.csv")] for k in ("cross_entropy", "val_loss",
                                                                                 "val_bleu4")}
    return best, history, folder


def test_loss_falls(trained):
    _, history, _ = trained
    assert history["cross_entropy"][-1] < 0.5 * history["cross_entropy"][0]
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert max(history["val_bleu4"]) > history["val_bleu4"][0]


def test_semantic_f1_bleu_and_attention_above_chance(trained):
    model, _, _ = trained
    metrics = evaluate(model, shapes("test", 60, seed=11), beam_size=3)
    # Naming colour–shape pairs at random is right 1 time in 12. Over model seeds 0–3 this training
    # reached semantic F1 0.23–0.32, BLEU-4 0.42–0.52, and 3.5–4.1 times the uniform map's attention
    # correctness (800 images and 8 epochs: F1 0.74; the demo's 2,500 images: 0.99).
    assert metrics["semantic_f1"] > 0.15, metrics
    assert metrics["BLEU-4"] > 0.3, metrics
    assert metrics["attention_correctness"] > 2 * metrics["uniform_baseline"], metrics


def test_the_recipe_keeps_the_best_epoch_as_a_loadable_model(trained):
    model, history, folder = trained
    best = load_captioner(folder / "model.keras")
    assert best.vocabulary == model.vocabulary
    metrics = CaptionMetrics(shapes("val", 64, seed=11), max_images=64)  # the recipe's validation captions
    metrics.set_model(best)
    logs = {}
    metrics.on_epoch_end(0, logs)
    assert logs["val_bleu4"] == pytest.approx(max(history["val_bleu4"]), abs=1e-6)


def test_training_resumes_from_its_backup(tmp_path):
    keras.utils.set_random_seed(0)
    train = shapes("train", 40, seed=13)
    model = Captioner("small_vgg", Vocabulary.build(train.all_captions(), min_count=1), units=16, embed_dim=8, attention_dim=8)
    model.compile(optimizer="adam", jit_compile=False)  # XLA would compile for longer than this trains

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(KeyboardInterrupt):
        model.fit(train, epochs=4, verbose=0, callbacks=[backup, Interrupt()])
    again = Captioner.from_config(model.get_config())
    again.compile(optimizer="adam", jit_compile=False)
    history = again.fit(train, epochs=4, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))])
    assert len(history.history["loss"]) == 2  # epochs 3 and 4 only: it resumed
    saved = json.loads((tmp_path / "backup" / "training_metadata.json").read_text()) if (
        tmp_path / "backup" / "training_metadata.json").exists() else None
    assert saved is None  # the backup is deleted once training completes
    assert np.isfinite(history.history["loss"]).all()


def test_a_kill_while_the_backup_is_written_leaves_the_previous_one(tmp_path):
    """Keras' BackupAndRestore rewrote latest.weights.h5 in place: a kill during that write left a
    file that did not load. Backup writes each epoch's weights apart and names them last."""
    from showattend.callbacks import Backup

    keras.utils.set_random_seed(0)
    train = shapes("train", 24, seed=13)
    model = Captioner("small_vgg", Vocabulary.build(train.all_captions(), min_count=1), units=16, embed_dim=8,
                      attention_dim=8)
    model.compile(optimizer="adam", jit_compile=False)
    backup = tmp_path / "backup"
    model.fit(train, epochs=1, verbose=0, callbacks=[Backup(backup)])
    after_one = [w.numpy().copy() for w in model.weights]

    def killed_while_writing(path, overwrite=True):
        with open(path, "wb") as f:
            f.write(b"\x89HDF\r\n")  # the first bytes of an HDF5 file, and then the kill
        raise KeyboardInterrupt

    model.save_weights = killed_while_writing
    with pytest.raises(KeyboardInterrupt):
        model.fit(train, epochs=3, verbose=0, callbacks=[Backup(backup)])
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 1
    again = Captioner.from_config(model.get_config())
    again.compile(optimizer="adam", jit_compile=False)
    again.fit(train, epochs=1, verbose=0)  # builds the model and its optimizer
    restore = Backup(backup)
    restore.set_model(again)
    restore.on_train_begin()
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(after_one, again.weights))  # epoch 1's weights
    history = again.fit(train, epochs=3, verbose=0, callbacks=[Backup(backup)])
    assert len(history.history["loss"]) == 2  # epochs 2 and 3: it resumed after epoch 1
    assert sorted(p.name for p in backup.iterdir()) == ["epoch_0003.weights.h5", "training_metadata.json"]


def test_frozen_backbone_does_not_change(small_data, vocabulary):
    model = Captioner("small_vgg", vocabulary, units=16, embed_dim=8, attention_dim=8, train_backbone=False)
    model.compile(optimizer="adam", jit_compile=False)
    before = [w.numpy().copy() for w in model.backbone.weights]
    decoder_before = model.decoder.weights[0].numpy().copy()
    model.fit(small_data, epochs=1, batch_size=16, verbose=0)
    assert not any(w is b for w in model.trainable_weights for b in model.backbone.weights)
    for w, b in zip(model.backbone.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)  # batch-norm statistics included
    assert not np.array_equal(model.decoder.weights[0].numpy(), decoder_before)


def test_a_resume_drops_history_rows_its_backup_does_not_hold_and_keeps_the_kept_model(trained):
    from showattend.callbacks import write_history
    from showattend.training import kept_epoch

    model, history, folder = trained
    kept = kept_epoch(folder)
    assert kept["epoch"] == int(np.argmax(history["val_bleu4"])) + 1 and kept["val_bleu4"] == max(history["val_bleu4"])
    rows = read_history(folder / "history.csv")
    # as if killed after epoch 6's row was written but before its backup
    write_history(folder / "history.csv", rows + [{"epoch": 6, "loss": 0.1, "val_bleu4": 0.9999}])
    again = Captioner.from_config(model.get_config())
    fit_best(again, shapes("train", 400, seed=11), shapes("val", 64, seed=11), str(folder), epochs=5,
             recipe=dataclasses.replace(DEMO_RECIPE, learning_rate=3e-3, val_images=64), verbose=0)
    assert read_history(folder / "history.csv") == rows and kept_epoch(folder) == kept  # nothing trained
