"""End to end on a folder of images with a CSV: `showattend features`, `train` (resumed), `evaluate`."""
import json

import numpy as np
import pytest
from PIL import Image

from showattend import load_captioner
from showattend.callbacks import read_history
from showattend.cli import main
from showattend.datasets import load
from tests.showattend.fixtures import shapes_folder

SMALL = ["--backbone", "small_vgg", "--image-size", "32", "--units", "16", "--embed-dim", "8",
         "--attention-dim", "8", "--batch-size", "32", "--val-images", "8"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """40 shapes images as PNG files and a CSV with their 4 captions each (one row per caption)."""
    root = tmp_path_factory.mktemp("folder")
    shapes_folder(root, 40, seed=21)
    return root


@pytest.fixture(scope="module")
def run(folder, tmp_path_factory):
    """A run trained for one epoch, then resumed for a second by the same command with --epochs 2."""
    out = tmp_path_factory.mktemp("run")
    args = ["train", "--data", f"folder:{folder / 'captions.csv'}", "--images", str(folder / "photos"), *SMALL,
            "--out", str(out), "--cache-features", "--min-count", "1", "--val-split", "0.2"]
    assert main(args + ["--epochs", "1"]) == 0
    first = read_history(out / "history.csv")
    assert main(args + ["--epochs", "2"]) == 0
    return out, args, first


def test_train_writes_the_run_and_resumes(run):
    out, _, first = run
    assert {p.name for p in out.iterdir()} >= {"backup", "config.json", "curves.png", "features", "history.csv",
                                               "model.keras", "vocabulary.json"}
    history = read_history(out / "history.csv")
    assert [r["epoch"] for r in history] == [1, 2] and history[:1] == first  # epoch 1 was not trained again
    assert all(0.0 <= r["val_bleu4"] <= 1.0 and np.isfinite(r["val_cider"]) for r in history)
    config = json.loads((out / "config.json").read_text())
    assert config["backbone"] == "small_vgg" and config["epochs"] == 2 and config["cache_features"] is True
    model = load_captioner(out / "model.keras")
    assert model.image_size == (32, 32) and not model.backbone.trainable
    with Image.open(out / "curves.png") as curves:
        assert curves.format == "PNG" and curves.size[0] > 600


def test_a_rerun_with_other_settings_is_refused(run, capsys):
    out, args, _ = run
    changed = [a if a != "16" else "24" for a in args]  # --units 24
    assert main(changed + ["--epochs", "2"]) == 2
    assert "units" in capsys.readouterr().err


def test_evaluate_writes_coco_results_that_pycocoevalcap_scores_the_same(run, folder, tmp_path, capsys,
                                                                         monkeypatch):
    out, _, _ = run
    results = tmp_path / "results.json"
    spec = f"folder:{folder / 'captions.csv'}"
    assert main(["evaluate", str(out / "model.keras"), "--data", spec, "--images", str(folder / "photos"),
                 "--beam", "2", "--out", str(results)]) == 0  # --seed and --val-split: the run's config.json
    output = capsys.readouterr().out
    assert "Captioning 8 images" in output and "(val)" in output  # a folder has no test split: the held-out val
    printed = dict(line.split()[:2] for line in output.splitlines() if line[:1].isupper() and len(line.split()) == 2)
    entries = json.loads(results.read_text())
    val = load(spec, "val", images=str(folder / "photos"), val_split=0.2)
    assert [e["image_id"] for e in entries] == val.image_ids and len(entries) == 8
    assert all(isinstance(e["caption"], str) for e in entries)

    # pycocoevalcap itself, on a COCO annotation file of the same references and the results file
    from pycocoevalcap import eval as coco_eval
    from pycocotools.coco import COCO

    class NoSpice:  # SPICE downloads Stanford CoreNLP at first use: no network here
        def compute_score(self, gts, res):
            return 0.0, [0.0] * len(res)

        def method(self):
            return "SPICE"

    ids = {image_id: n for n, image_id in enumerate(val.image_ids)}
    annotations = tmp_path / "references.json"
    annotations.write_text(json.dumps({
        "images": [{"id": n} for n in ids.values()],
        "annotations": [{"id": k, "image_id": ids[i], "caption": c} for k, (i, c) in enumerate(
            (i, c) for i, refs in zip(val.image_ids, val.captions) for c in refs)]}))
    renumbered = tmp_path / "renumbered.json"
    renumbered.write_text(json.dumps([{"image_id": ids[e["image_id"]], "caption": e["caption"]} for e in entries]))
    monkeypatch.setattr(coco_eval, "Spice", NoSpice)
    coco = COCO(str(annotations))
    scorer = coco_eval.COCOEvalCap(coco, coco.loadRes(str(renumbered)))
    scorer.evaluate()
    names = {"Bleu_1": "BLEU-1", "Bleu_4": "BLEU-4", "METEOR": "METEOR", "ROUGE_L": "ROUGE-L", "CIDEr": "CIDEr-D"}
    for theirs, ours in names.items():
        assert float(printed[ours]) == pytest.approx(scorer.eval[theirs], abs=1e-4), ours
    metrics = json.loads((tmp_path / "results.metrics.json").read_text())
    assert metrics["BLEU-4"] == pytest.approx(scorer.eval["Bleu_4"], abs=1e-9) and metrics["num_images"] == 8


def test_features_command_fills_a_cache_that_train_reuses(folder, tmp_path, capsys):
    cache = tmp_path / "cache"
    spec = ["--data", f"folder:{folder / 'captions.csv'}", "--images", str(folder / "photos")]
    assert main(["features", *spec, "--backbone", "small_vgg", "--image-size", "32", "--out", str(cache)]) == 0
    assert "holds 40 images" in capsys.readouterr().out
    assert main(["features", *spec, "--backbone", "small_vgg", "--image-size", "48", "--out", str(cache)]) == 2
    assert "image_size" in capsys.readouterr().err
    shards = sorted(p.stat().st_mtime_ns for p in cache.glob("shard_*.npy"))
    # random weights, made from the same --seed: train recognises the cache and extracts nothing
    assert main(["train", *spec, *SMALL, "--out", str(tmp_path / "run"), "--cache-features", "--feature-dir",
                 str(cache), "--min-count", "1", "--epochs", "1"]) == 0
    assert "Cached the features" not in capsys.readouterr().out
    assert sorted(p.stat().st_mtime_ns for p in cache.glob("shard_*.npy")) == shards


def test_train_takes_the_transformer_and_its_flags(folder, tmp_path, capsys):
    out = tmp_path / "transformer"
    args = ["train", "--data", f"folder:{folder / 'captions.csv'}", "--images", str(folder / "photos"),
            "--backbone", "small_vgg", "--image-size", "32", "--batch-size", "32", "--val-images", "8",
            "--min-count", "1", "--val-split", "0.2", "--out", str(out), "--epochs", "1", "--decoder", "transformer",
            "--layers", "1", "--heads", "2", "--width", "16", "--ff-width", "32", "--no-region-positions"]
    assert main(args + ["--units", "16"]) == 2  # an LSTM option
    assert "--units is an option of the lstm decoder, not of transformer" in capsys.readouterr().err
    assert main(args) == 0
    model = load_captioner(out / "model.keras")
    assert type(model.decoder).__name__ == "TransformerDecoder"
    assert {k: model.decoder.options[k] for k in ("layers", "heads", "width", "ff_width", "region_positions")} == \
        {"layers": 1, "heads": 2, "width": 16, "ff_width": 32, "region_positions": False}
    assert model.decoder.options["residual_dropout"] == 0.1  # the paper's, as every flag left out
    assert [r["epoch"] for r in read_history(out / "history.csv")] == [1]
