import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from showattend.cli import main


def test_console_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "showattend.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: showattend" in result.stdout and "caption" in result.stdout


@pytest.mark.parametrize("command, option", [("demo", "--num-images"), ("caption", "--plot"),
                                             ("visualize", "--upscale"), ("train", "--cache-features"),
                                             ("evaluate", "--beam"), ("features", "--backbone")])
def test_help_for_each_command(command, option, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0 and option in capsys.readouterr().out


def test_caption_command_prints_and_plots(captioner, small_data, tmp_path, capsys):
    model = tmp_path / "model.keras"
    captioner.save(model)
    images = []
    for i in range(2):
        images.append(tmp_path / f"img{i}.png")
        Image.fromarray(small_data.images[i]).save(images[-1])
    assert main(["caption", str(model), *map(str, images), "--beam", "2", "--plot", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out.splitlines()
    expected = captioner.caption([str(p) for p in images], beam_size=2)
    assert out[0] == f"{images[0]}\t{expected[0].text}" and out[2] == f"{images[1]}\t{expected[1].text}"
    for i in range(2):
        with Image.open(tmp_path / "plots" / f"attention_img{i}.png") as figure:
            assert figure.format == "PNG"


def test_caption_command_names_a_bad_file(captioner, tmp_path, capsys):
    model = tmp_path / "model.keras"
    captioner.save(model)
    assert main(["caption", str(model), str(tmp_path / "nope.png")]) == 2
    assert "nope.png" in capsys.readouterr().err
    image = tmp_path / "image.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    assert main(["caption", str(tmp_path / "none.keras"), str(image)]) == 2
    assert "none.keras" in capsys.readouterr().err


def test_bad_numbers_are_refused():
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "0"])


def test_demo_trains_the_decoder_and_attention_asked_for(monkeypatch, capsys):
    import showattend.demo

    calls = []
    monkeypatch.setattr(showattend.demo, "run_demo", lambda out, **kwargs: calls.append(kwargs))
    assert main(["demo", "--attention", "hard", "--epochs", "2"]) == 0
    assert calls == [{"num_images": 2500, "epochs": 2, "seed": 0, "decoder": "lstm", "attention": "hard",
                      "verbose": 2}]  # not a tty
    assert main(["demo"]) == 0 and calls[-1]["decoder"] == "lstm" and "attention" not in calls[-1]
    assert "epochs" not in calls[-1]
    assert main(["demo", "--decoder", "transformer"]) == 0 and calls[-1]["decoder"] == "transformer"
    assert main(["demo", "--decoder", "transformer", "--attention", "hard"]) == 2
    assert "--attention is an option of the LSTM decoder, not of transformer" in capsys.readouterr().err
    assert len(calls) == 3
    with pytest.raises(SystemExit):
        main(["demo", "--attention", "stochastic"])


def test_visualize_writes_a_figure_or_an_animation(captioner, small_data, tmp_path, capsys):
    model = tmp_path / "model.keras"
    captioner.save(model)
    image = tmp_path / "img.png"
    Image.fromarray(small_data.images[0]).save(image)
    expected = captioner.caption(str(image), beam_size=1)[0]
    for name, fmt in (("attention.png", "PNG"), ("attention.gif", "GIF")):
        assert main(["visualize", str(model), str(image), "--out", str(tmp_path / name), "--beam", "1"]) == 0
        assert capsys.readouterr().out.splitlines()[0] == f"{image}\t{expected.text}"
        with Image.open(tmp_path / name) as written:
            assert written.format == fmt
    with Image.open(tmp_path / "attention.gif") as gif:
        assert gif.n_frames == len(expected.tokens) + 1
    assert main(["visualize", str(model), str(image), "--out", str(tmp_path / "a.jpg")]) == 2
    assert "must end in .png" in capsys.readouterr().err
    assert main(["visualize", str(model), str(image), "--out", str(tmp_path / "a.png"), "--reading", "sample"]) == 2
    assert "attention='hard'" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("command", ["caption", "visualize", "report"])
def test_image_files_are_checked_before_the_model_loads(command, tmp_path, monkeypatch, capsys):
    import showattend
    from tests.showattend.test_bad_input import _png_declaring

    loads = []
    monkeypatch.setattr(showattend, "load_captioner", lambda path, **kwargs: loads.append(path))
    monkeypatch.setattr("showattend.html_view.html_report", lambda *args, **kwargs: loads.append(args))
    good = tmp_path / "good.png"
    Image.new("RGB", (20, 20)).save(good)
    (tmp_path / "notes.png").write_text("not an image")
    bomb = _png_declaring(tmp_path / "bomb.png", 20000, 20000)
    extra = {"caption": [], "visualize": ["--out", str(tmp_path / "out.png")],
             "report": ["--out", str(tmp_path / "out.html")]}[command]
    for bad, message in ((tmp_path / "notes.png", "is not a readable image"), (bomb, "400,000,000 pixels"),
                         (tmp_path / "gone.png", "No image file at")):
        images = [str(bad)] if command == "visualize" else [str(good), str(bad)]
        assert main([command, str(tmp_path / "model.keras"), *images, *extra]) == 2
        err = capsys.readouterr().err
        assert f"{str(bad)!r}" in err and message in err and "Traceback" not in err
    assert loads == []  # no model was read: each message came first


def test_check_image_file_reads_only_the_header(tmp_path):
    from showattend.data import BadImageError, check_image_file, load_image

    image = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)).save(image)
    data = image.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
    assert check_image_file(image) == (50, 30)
    assert check_image_file(tmp_path / "cut.jpg") == (50, 30)  # cut off after its header: load_image names it
    with pytest.raises(BadImageError, match="cut.jpg' is not a readable image: image file is truncated"):
        load_image(tmp_path / "cut.jpg")
    with pytest.raises(FileNotFoundError, match="gone.jpg"):
        check_image_file(tmp_path / "gone.jpg")
