"""The Transformer decoder's options, declared once: ``TransformerDecoder`` checks and saves them, and
the tuner's space, the command line's flags and the docs' table are read from them."""
from showattend.decoders.options import Option

__all__ = ["TRANSFORMER_OPTIONS"]

# The defaults are sized to train on a CPU; the "paper" values are the base model of "Attention Is
# All You Need" (6 layers, 8 heads, d = 512, feed-forward 2048, dropout 0.1). ``tune`` is the range
# a search explores.
TRANSFORMER_OPTIONS = (
    Option("layers", 2, "decoder blocks (causal self-attention, cross-attention over the regions, feed-forward)",
           paper=6, minimum=1, tune=("Choice", {"values": [1, 2, 3, 4, 6]})),
    Option("heads", 4, "attention heads; they must divide the width", paper=8, minimum=1,
           tune=("Choice", {"values": [2, 4, 8]})),
    Option("width", 128, "d, the width of the word features and of every block", paper=512, minimum=1,
           tune=("Choice", {"values": [128, 256, 512]})),
    Option("ff_width", 512, "the hidden width of each block's feed-forward", paper=2048, minimum=1,
           tune=("Choice", {"values": [256, 512, 1024, 2048]})),
    Option("residual_dropout", 0.1, "the dropout rate of the embeddings and of each residual branch (the "
                                     "paper's P_drop)", minimum=0.0, maximum=0.99, tune=("Float", {"min_value": 0.0, "max_value": 0.3, "step": 0.1})),
    Option("encoder_layers", 0, "self-attention blocks over the regions before decoding (0: none)", minimum=0,
           tune=("Choice", {"values": [0, 1, 2]})),
    Option("positions", 64, "learned word positions: a caption may have at most this many steps", minimum=2),
    Option("region_positions", True, "add learned row and column embeddings to the regions (attention alone "
                                     "ignores where a region is)"),
    Option("attention_map", "last", "each word's map: the last block's cross-attention averaged over heads, or "
                                    "the mean over all blocks", choices=("last", "mean")),
)
