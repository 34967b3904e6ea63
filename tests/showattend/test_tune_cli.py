"""`showattend tune`: a search, its summary and export, and a chief with two worker processes."""
import csv
import json
import os
import subprocess
import sys


from showattend import load_captioner
from showattend.cli import main
from showattend.datasets import load

TINY = ["--set", "units=32", "--set", "embed_dim=16", "--set", "attention_dim=16", "--set", "attention=soft",
        "--val-images", "20", "--batch-size", "32"]


def test_tune_then_summary_then_export(tmp_path, capsys):
    directory = str(tmp_path / "tuning")
    code = main(["tune", "--data", "shapes:120", "--backbones", "small_vgg,resnet20", "--algorithm", "random",
                 "--max-trials", "2", "--max-epochs", "1", "--directory", directory, *TINY])
    assert code == 0
    out = capsys.readouterr().out
    assert "trial  status     score" in out and "results.csv" in out
    with open(os.path.join(directory, "search", "results.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and {r["status"] for r in rows} == {"COMPLETED"}
    assert rows[1]["backbone"] == "small_vgg" or rows[0]["backbone"] == "small_vgg"  # the default trial
    assert main(["tune", "--summary", directory]) == 0
    assert capsys.readouterr().out.count("COMPLETED") == 2
    best = str(tmp_path / "best.keras")
    assert main(["tune", "--export", directory, best]) == 0
    model = load_captioner(best)
    assert len(model.caption(load("shapes:120", "val").images[:2])) == 2
    assert main(["tune", "--data", "shapes:120", "--directory", str(tmp_path / "x"), "--set", "colour=3"]) == 2
    assert "Cannot fix colour: the hyperparameters are feature_stage" in capsys.readouterr().err
    assert main(["tune", "--summary", str(tmp_path / "nothing")]) == 2
    assert "No search in" in capsys.readouterr().err


def test_a_chief_and_two_workers_share_one_search(tmp_path):
    directory = tmp_path / "tuning"
    command = [sys.executable, "-m", "showattend.cli", "tune", "--data", "shapes:60", "--algorithm", "random",
               "--max-trials", "3", "--max-epochs", "1", "--directory", str(directory), "--gpus", "0,1",
               "--backbones", "small_vgg", *TINY[:-4], "--val-images", "8", "--batch-size", "32"]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    logs = {p.name: p.read_text()[-1500:] for p in (directory / "search" / "logs").glob("*.log")}
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:], logs)
    assert sorted(logs) == ["chief.log", "tuner0.log", "tuner1.log"]
    for role in ("chief", "tuner0", "tuner1"):
        assert f"{role} exited with 0" in result.stdout
    trials = [json.loads(p.read_text()) for p in (directory / "search").glob("trial_*/trial.json")]
    assert len(trials) == 3 and all(t["status"] == "COMPLETED" for t in trials)
    workers = {json.loads(p.read_text())[0]["worker"] for p in (directory / "search").glob("trial_*/history.json")}
    assert workers == {"tuner0", "tuner1"}
