"""`showattend tune`: a chief with two worker processes sharing one search, then its summary and export."""
import csv
import json
import os
import subprocess
import sys

import pytest

from showattend import load_captioner
from showattend.cli import main
from showattend.datasets import load


@pytest.fixture(scope="module")
def shared_search(tmp_path_factory):
    """`tune --gpus 0,1`: a chief and two workers run 3 trials of one search."""
    directory = tmp_path_factory.mktemp("tune") / "tuning"
    command = [sys.executable, "-m", "showattend.cli", "tune", "--data", "shapes:60", "--algorithm", "random",
               "--max-trials", "3", "--max-epochs", "1", "--directory", str(directory), "--gpus", "0,1",
               "--backbones", "small_vgg", "--set", "units=32", "--set", "embed_dim=16", "--set", "attention_dim=16",
               "--set", "attention=soft", "--val-images", "8", "--batch-size", "32"]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    return directory, result


def test_a_chief_and_two_workers_share_one_search(shared_search):
    directory, result = shared_search
    logs = {p.name: p.read_text()[-1500:] for p in (directory / "search" / "logs").glob("*.log")}
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:], logs)
    assert sorted(logs) == ["chief.log", "tuner0.log", "tuner1.log"]
    for role in ("chief", "tuner0", "tuner1"):
        assert f"{role} exited with 0" in result.stdout
    trials = [json.loads(p.read_text()) for p in (directory / "search").glob("trial_*/trial.json")]
    assert len(trials) == 3 and all(t["status"] == "COMPLETED" for t in trials)
    workers = {json.loads(p.read_text())[0]["worker"] for p in (directory / "search").glob("trial_*/history.json")}
    assert workers == {"tuner0", "tuner1"}


def test_the_search_prints_its_table_then_summary_and_export_read_it(shared_search, tmp_path, capsys):
    directory, result = shared_search
    assert result.returncode == 0, result.stderr[-2000:]
    assert "trial  status     score" in result.stdout and "results.csv" in result.stdout
    with open(directory / "search" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and {r["status"] for r in rows} == {"COMPLETED"}
    assert main(["tune", "--summary", str(directory)]) == 0
    assert capsys.readouterr().out.count("COMPLETED") == 3
    best = str(tmp_path / "best.keras")
    assert main(["tune", "--export", str(directory), best]) == 0
    model = load_captioner(best)
    assert len(model.caption(load("shapes:60", "val").images[:2])) == 2


def test_a_bad_setting_and_a_missing_search_exit_2_naming_them(tmp_path, capsys):
    assert main(["tune", "--data", "shapes:120", "--directory", str(tmp_path / "x"), "--set", "colour=3"]) == 2
    assert "Cannot fix colour: the hyperparameters are feature_stage" in capsys.readouterr().err
    assert main(["tune", "--summary", str(tmp_path / "nothing")]) == 2
    assert "No search in" in capsys.readouterr().err
