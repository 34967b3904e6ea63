"""The LSTM decoder's options, declared once: ``LSTMDecoder`` checks and saves them, and the paper
configuration, the tuner's space, the command line's flags and the docs' table are read from them."""
from showattend.decoders.options import Option
from showattend.layers.attention import SCORES
from showattend.layers.cells import CELLS

__all__ = ["LSTM_OPTIONS"]

HARD = ("attention", ("hard",))
# The paper's values are REFERENCE.md's (512 wide, dropout 0.5, λ = 1); the defaults are smaller, to
# train on a CPU. ``tune`` is the range a search explores around the paper's value.
LSTM_OPTIONS = (
    Option("attention", "soft", "soft (the expectation over regions) or hard (one region sampled, REINFORCE)",
           choices=("soft", "hard"), tune=("Choice", {})),
    Option("cell", "lstm", "the recurrent cell", choices=CELLS, tune=("Choice", {})),
    Option("attention_score", "additive", "the attention's score: the paper's MLP, a dot product or a bilinear form",
           choices=SCORES, tune=("Choice", {})),
    Option("units", 256, "the size of the LSTM's state", paper=512, minimum=1,
           tune=("Choice", {"values": [128, 256, 512, 1024]})),
    Option("embed_dim", 64, "the size of the word embedding", paper=512, minimum=1,
           tune=("Choice", {"values": [128, 256, 512]})),
    Option("attention_dim", 128, "the size of the attention's projections", paper=512, minimum=1,
           tune=("Choice", {"values": [128, 256, 512]})),
    Option("dropout", 0.5, "the dropout rate before the output layer", minimum=0.0, maximum=0.99,
           tune=("Float", {"min_value": 0.0, "max_value": 0.6, "step": 0.1})),
    Option("doubly_stochastic", 1.0, "λ of the penalty Σ_i (1 − Σ_t α_ti)² (0: off)", minimum=0.0,
           tune=("Choice", {"values": [0.0, 0.01, 0.1, 1.0]})),
    Option("gate", True, "scale the context by the gate β (else β = 1)"),
    Option("deep_output", True, "logits from E y, h and ẑ (the paper's) or from h alone"),
    Option("init_state", "mean", "h_0 and c_0 from the mean region feature (the paper's) or zeros",
           choices=("mean", "zeros")),
    Option("reinforce_weight", 0.1, "λ_r of hard attention's REINFORCE term", minimum=0.0, when=HARD,
           tune=("Float", {"min_value": 0.01, "max_value": 1.0, "sampling": "log"})),
    Option("entropy_weight", 0.002, "λ_e of hard attention's entropy term", minimum=0.0, when=HARD,
           tune=("Float", {"min_value": 1e-4, "max_value": 1e-2, "sampling": "log"})),
    Option("expectation_probability", 0.5, "the probability that a hard-attention minibatch reads the expectation",
           minimum=0.0, maximum=1.0, when=HARD),
)
