"""Text: the caption vocabulary and its tokenizer."""
from showattend.text.vocabulary import SPECIAL_TOKENS, Vocabulary, tokenize

__all__ = ["SPECIAL_TOKENS", "Vocabulary", "tokenize"]
