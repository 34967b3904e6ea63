"""Caption generation: greedy and beam search compiled whole (``search``), driving any decoder's
step, and the ``Caption`` each image gets (``captions``)."""
from showattend.generation.captions import Caption, captions_of, check_decoding, compiled_search
from showattend.generation.search import Hypothesis, beam_search, check_search, hypotheses, top_k_of_rows

__all__ = ["Caption", "Hypothesis", "beam_search", "captions_of", "check_decoding", "check_search", "compiled_search",
           "hypotheses", "top_k_of_rows"]
