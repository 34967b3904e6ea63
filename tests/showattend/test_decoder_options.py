"""Each decoder option is declared once: the constructor, get_config, the paper configuration, the
tuner's space and the command line's flags all read the declaration, and no list of choices is
written a second time anywhere in the package."""
import ast
import pathlib

import keras_tuner as kt
import pytest

from showattend.cli import _parser
from showattend.decoders import LSTMDecoder, decoder_class, decoder_option, list_decoders, paper_config
from showattend.training import PAPER_DECODER
from showattend.tuning import CaptionHyperModel
from showattend.tuning.space import decoder_space

PACKAGE = pathlib.Path(__file__).parents[2] / "showattend"


def _string_lists(path):
    """Every tuple, list or set literal of two or more strings in ``path``: (line, set of strings)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2 and \
                all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            yield node.lineno, {e.value for e in node.elts}


def test_no_list_of_choices_is_written_twice():
    declared = {}
    for name in list_decoders():
        for option in decoder_class(name).OPTIONS:
            if option.choices:
                declared[option.name] = set(option.choices)
    assert {"attention", "cell", "attention_score", "init_state"} <= set(declared)
    found = {name: [] for name in declared}
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, strings in _string_lists(path):
            for name, choices in declared.items():
                if strings <= choices:
                    found[name].append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    for name, places in found.items():
        assert len(places) == 1, f"the choices of {name} are written in {len(places)} places: {places}"


def test_the_command_line_flags_come_from_the_declarations():
    train = _parser()._subparsers._group_actions[0].choices["train"]
    flags = {action.dest: action for action in train._actions}
    for option in LSTMDecoder.OPTIONS:
        assert option.name in flags, option.name
        assert tuple(flags[option.name].choices or ()) == tuple(option.choices or ())
    args = train.parse_args(["--out", "run", "--data", "shapes", "--backbone", "small_vgg", "--units", "64",
                             "--no-gate", "--cell", "gru"])
    from showattend.cli.decoder_flags import decoder_options

    decoder, options = decoder_options(args)
    assert decoder == "lstm" and options == {**paper_config("lstm"), "units": 64, "gate": False, "cell": "gru"}
    with pytest.raises(SystemExit):
        train.parse_args(["--out", "run", "--data", "shapes", "--backbone", "small_vgg", "--units", "0"])
    demo = _parser()._subparsers._group_actions[0].choices["demo"]
    attention = next(a for a in demo._actions if a.dest == "attention")
    assert tuple(attention.choices) == decoder_option("attention").choices


def test_the_paper_configuration_and_the_tuner_read_the_declarations(vocabulary):
    assert PAPER_DECODER == paper_config("lstm")
    assert (PAPER_DECODER["units"], PAPER_DECODER["embed_dim"], PAPER_DECODER["attention_dim"]) == (512, 512, 512)
    hp = kt.HyperParameters()
    CaptionHyperModel(vocabulary, image_size=(64, 64)).declare_hyperparameters(hp)
    always, conditional = decoder_space("lstm")
    tuned = {option.name for option in LSTMDecoder.OPTIONS if option.tune}
    assert tuned == set(always) | {n for space in conditional.values() for n in space}
    for h in hp.space:
        if h.name in tuned:
            option = decoder_option(h.name)
            assert h.default == option.paper, h.name
            if option.choices:
                assert tuple(h.values) == option.choices
    with pytest.raises(ValueError, match="CaptionHyperModel has no argument 'unit'. The space's names: .*units"):
        CaptionHyperModel(vocabulary, unit=64)


def test_options_are_checked_and_saved_by_name():
    decoder = LSTMDecoder(vocab_size=12, units=16, cell="gru", gate=False)
    config = decoder.get_config()
    assert {option.name for option in LSTMDecoder.OPTIONS} <= set(config)
    assert (config["units"], config["cell"], config["gate"], config["attention"]) == (16, "gru", False, "soft")
    again = LSTMDecoder.from_config(config)
    assert again.options == decoder.options
    for bad, message in [({"units": 0}, "units must be an integer of at least 1, got 0."),
                         ({"dropout": "high"}, "dropout must be a number in"),
                         ({"gate": 1}, "gate must be True or False, got 1."),
                         ({"attention": "sparse"}, "Unknown attention 'sparse'. Accepted: soft, hard."),
                         ({"layers": 2}, "The lstm decoder has no option 'layers'. Its options: attention, ")]:
        with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
            LSTMDecoder(vocab_size=12, **bad)
