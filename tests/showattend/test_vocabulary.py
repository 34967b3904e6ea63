import pytest

from showattend import Vocabulary
from showattend.text import tokenize


def test_tokenize_lowercases_and_strips_punctuation():
    assert tokenize("A Red circle, at the TOP!") == ["a", "red", "circle", "at", "the", "top"]


def test_build_orders_by_frequency_and_reserves_special_ids():
    vocab = Vocabulary.build(["a red circle", "a blue circle", "a red square"], min_count=1)
    assert vocab.words[:4] == ["<pad>", "<start>", "<end>", "<unk>"]
    assert (vocab.pad_id, vocab.start_id, vocab.end_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab.words[4:7] == ["a", "circle", "red"]  # counts 3, 2, 2 (ties alphabetical)
    assert len(vocab) == 4 + 5


def test_max_size_and_min_count():
    captions = ["a a a b b c"]
    assert Vocabulary.build(captions, max_size=6, min_count=1).words[4:] == ["a", "b"]
    assert Vocabulary.build(captions, min_count=2).words[4:] == ["a", "b"]


def test_real_data_defaults_keep_words_seen_five_times_and_report_coverage():
    captions = ["a dog runs"] * 5 + ["a cat sleeps"] * 4 + ["a dog"]
    vocab = Vocabulary.build(captions)
    assert vocab.words[4:] == ["a", "dog", "runs"]  # counts 10, 6, 5; cat and sleeps (4) become <unk>
    assert vocab.stats == {"captions": 10, "words": 29, "distinct_words": 5, "kept": 3, "min_count": 5,
                           "coverage": 21 / 29}
    assert vocab.summary() == ("3 of 5 distinct words kept (seen at least 5 times), covering 72.4% of the "
                               "29 words of 10 captions")
    assert len(Vocabulary.build([f"w{i} " * 5 for i in range(20000)])) == 10000  # max_size, specials included
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build(captions, min_count=0)


def test_encode_decode_and_unknown_words():
    vocab = Vocabulary.build(["a red circle"], min_count=1)
    ids = vocab.encode("A red hexagon", add_start_end=True)
    assert ids[0] == vocab.start_id and ids[-1] == vocab.end_id and ids[3] == vocab.unk_id
    assert vocab.decode(ids) == "a red <unk>"
    assert vocab.decode(vocab.encode("red circle") + [vocab.end_id, vocab.id("a")]) == "red circle"


def test_json_round_trip(tmp_path):
    vocab = Vocabulary.build(["a red circle", "the blue square"], min_count=1)
    assert Vocabulary.from_json(vocab.to_json()) == vocab
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_inputs():
    with pytest.raises(ValueError, match="empty"):
        Vocabulary.build([])
    with pytest.raises(ValueError, match="string"):
        Vocabulary.build([3])
    with pytest.raises(FileNotFoundError, match="nowhere.json"):
        Vocabulary.load("nowhere.json")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        Vocabulary.build(["a"]).decode([99])
