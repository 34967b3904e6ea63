import numpy as np
import pytest

from showattend import Caption, CaptionDataset
from showattend.data import GroundedObject
from showattend.evaluation import caption_metrics, evaluate, find_object_phrases, format_metrics, grounding_scores


def test_perfect_captions_score_one_and_wrong_ones_less():
    refs = [["a red circle in the top left", "a red circle"], ["a blue square at the bottom", "a blue square"]]
    perfect = caption_metrics(refs, ["a red circle in the top left", "a blue square at the bottom"])
    for name in ("BLEU-1", "BLEU-4", "ROUGE-L"):
        assert perfect[name] == pytest.approx(1.0, abs=1e-6)
    assert perfect["METEOR"] > 0.9
    wrong = caption_metrics(refs, ["a green triangle", "a yellow circle in the center"])
    assert wrong["BLEU-1"] < 0.5 and wrong["ROUGE-L"] < 0.6 and wrong["CIDEr-D"] < perfect["CIDEr-D"]
    assert set(perfect) == {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D"}


def test_empty_hypothesis_and_mismatched_lengths():
    assert caption_metrics([["a red circle"]], [""])["BLEU-1"] < 0.1
    with pytest.raises(ValueError, match="one hypothesis per image"):
        caption_metrics([["a"], ["b"]], ["a"])


def test_find_object_phrases():
    names = {("red", "circle"), ("blue", "square")}
    tokens = "a large red circle and a blue square and a red square".split()
    assert find_object_phrases(tokens, names, {"large", "small"}) == [
        ([1, 2, 3], ("red", "circle")), ([6, 7], ("blue", "square"))]


def _grid_dataset():
    """One 64×64 image: a red circle filling grid cell (1, 1) of 8×8, a blue square in cell (6, 5)."""
    circle = np.zeros((64, 64), bool)
    circle[8:16, 8:16] = True
    square = np.zeros((64, 64), bool)
    square[48:56, 40:48] = True
    objects = [GroundedObject(("red", "circle"), circle, {"size": "small", "position": ("top", "left")}),
               GroundedObject(("blue", "square"), square, {"size": "small", "position": ("bottom",)})]
    return CaptionDataset(np.zeros((1, 64, 64, 3), np.uint8), [["a red circle and a blue square"]], [objects],
                          object_names=frozenset({("red", "circle"), ("blue", "square"), ("green", "triangle")}),
                          object_modifiers=frozenset({"small", "large"}))


def _caption(text, attention):
    tokens = text.split()
    return Caption(text, tokens, -1.0, np.asarray(attention, np.float32), np.ones(len(tokens), np.float32))


def test_uniform_attention_scores_the_baseline():
    data = _grid_dataset()
    text = "a red circle and a blue square"
    scores = grounding_scores(data, [_caption(text, np.full((7, 8, 8), 1 / 64))])
    assert scores["semantic_f1"] == 1.0 and scores["grounded_phrases"] == 2
    assert scores["uniform_baseline"] == pytest.approx(64 / 4096)
    assert scores["attention_correctness"] == pytest.approx(scores["uniform_baseline"], rel=1e-4)


def test_attention_on_the_object_scores_high_and_elsewhere_low():
    data = _grid_dataset()
    text = "a red circle and a blue square"
    on = np.zeros((7, 8, 8))
    on[:, 0, 0] = 1  # every word at the top-left corner
    on[2, 1, 1] = 1  # "circle" looks at its cell
    on[2, 0, 0] = 0
    on[5, 6, 5] = 1  # "blue" looks at the square
    on[5, 0, 0] = 0
    hit = grounding_scores(data, [_caption(text, on)])["attention_correctness"]
    off = np.zeros((7, 8, 8))
    off[:, 3, 3] = 1
    miss = grounding_scores(data, [_caption(text, off)])["attention_correctness"]
    # bilinear upsampling spreads a one-hot cell over its neighbours: about 56% stays inside
    assert 0.5 < hit < 0.6 and miss < 0.01


def test_semantic_precision_and_recall():
    data = _grid_dataset()
    scores = grounding_scores(data, [_caption("a red circle and a green triangle", np.full((7, 8, 8), 1 / 64))])
    assert scores["semantic_precision"] == 0.5 and scores["semantic_recall"] == 0.5
    assert scores["grounded_phrases"] == 1  # the green triangle is not in the image: nothing to ground
    # a default domain is the names of the objects present: a name outside it is not an object phrase
    data.object_names = frozenset({("red", "circle"), ("blue", "square")})
    scores = grounding_scores(data, [_caption("a red circle and a green triangle", np.full((7, 8, 8), 1 / 64))])
    assert scores["semantic_precision"] == 1.0 and scores["semantic_recall"] == 0.5


def test_evaluate_runs_the_model_and_formats(captioner, small_data):
    metrics = evaluate(captioner, small_data.subset(range(6)), beam_size=2)
    for name in ("BLEU-4", "METEOR", "CIDEr-D", "semantic_f1"):
        assert 0.0 <= metrics[name] <= 10.0
    assert metrics["num_images"] == 6
    table = format_metrics(metrics)
    assert "BLEU-4" in table and "semantic_f1" in table
    with pytest.raises(ValueError, match="CaptionDataset"):
        evaluate(captioner, small_data.images)


def test_attention_correctness_per_word_class():
    data = _grid_dataset()
    data.word_classes = {"colour": {"red", "blue"}, "shape": {"circle", "square"}, "size": {"small"},
                         "position": {"top", "left", "bottom"}}
    text = "a small red circle in the top left and a blue square at the bottom"
    tokens = text.split()
    attention = np.zeros((len(tokens), 8, 8))
    attention[:, 3, 3] = 1  # nowhere near either object …
    for i, word in enumerate(tokens):
        if word in ("red", "circle"):
            attention[i] = 0
            attention[i, 1, 1] = 1  # … except the circle's colour and shape words
        if word in ("blue",):
            attention[i] = 0
            attention[i, 6, 5] = 1
    scores = grounding_scores(data, [_caption(text, attention)])
    assert scores["grounded_words_colour"] == 2 and scores["grounded_words_shape"] == 2
    assert scores["grounded_words_size"] == 1 and scores["grounded_words_position"] == 3
    assert 0.5 < scores["attention_correctness_colour"] < 0.6  # both colour words on their objects
    assert 0.25 < scores["attention_correctness_shape"] < 0.3  # "circle" on, "square" off
    assert scores["attention_correctness_position"] < 0.01 and scores["attention_correctness_size"] < 0.01
    for word_class in ("colour", "shape", "size", "position"):
        assert scores[f"uniform_baseline_{word_class}"] == pytest.approx(64 / 4096)
    table = format_metrics({"BLEU-1": 1.0, **scores})
    assert "attention_correctness_position" in table and "attention_correctness_colour" in table


def test_word_classes_must_be_sets_of_words():
    with pytest.raises(ValueError, match="word_classes must map a class name"):
        CaptionDataset(np.zeros((1, 8, 8, 3), np.uint8), [["a red circle"]], word_classes={"colour": "red"})


def test_one_meteor_process_serves_every_call_and_is_restarted_when_it_died():
    import showattend.evaluation as evaluation

    references, hypotheses = [["a red circle", "a red circle in the center"], ["a blue square"]], ["a red circle",
                                                                                                  "a blue circle"]
    first = caption_metrics(references, hypotheses)["METEOR"]
    scorer = evaluation._METEOR[0]
    assert caption_metrics(references, hypotheses)["METEOR"] == first and evaluation._METEOR == [scorer]
    scorer.meteor_p.kill()  # as a Ctrl-C to the process group kills Java
    scorer.meteor_p.wait()
    assert caption_metrics(references, hypotheses)["METEOR"] == first
    assert evaluation._METEOR[0] is not scorer and evaluation._METEOR[0].meteor_p.poll() is None
