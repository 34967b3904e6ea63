"""The decoder of "Show, Attend and Tell": an LSTM that attends over image regions at every word."""
import keras
from keras import ops

from showattend.decoders.base import Decoder
from showattend.decoders.lstm_options import LSTM_OPTIONS
from showattend.layers.attention import make_attention, per_image, per_row
from showattend.layers.cells import make_cell
from showattend.losses import doubly_stochastic_penalty, hard_attention_term

__all__ = ["LSTMDecoder"]

@keras.saving.register_keras_serializable(package="showattend")
class LSTMDecoder(Decoder):
    """Soft- or hard-attention LSTM decoder with the gate β and the deep output layer (REFERENCE.md).

    Per step t: α_t from h_{t-1} and the regions; ẑ_t = β_t Σ_i α_ti a_i with β_t = σ(w_β h_{t-1});
    (h_t, c_t) = LSTM([E y_{t-1}; ẑ_t], h_{t-1}, c_{t-1}). After the recurrence, for all steps at
    once: logits = L_o(dropout(tanh(E y_{t-1} + L_h h_t + L_z ẑ_t))).

    Hard attention (``attention="hard"``): in training, a minibatch reads one region sampled from
    α at each step, with probability 1 − ``expectation_probability`` (one coin per call), and the
    choice is learnt by the REINFORCE surrogate (λ_r, λ_e and a moving-average baseline of the
    log-likelihood per word, the non-trainable ``reinforce_baseline``).

    Its options are ``LSTM_OPTIONS``: ``attention``, ``embed_dim``, ``units``, ``attention_dim``,
    ``dropout``, ``doubly_stochastic``, ``gate``, ``cell`` (lstm, peephole_lstm, cifg_lstm, gru),
    ``attention_score`` (additive, dot, general), ``deep_output`` (off: logits = L_o(dropout(h_t))),
    ``init_state`` ("mean": tanh layers of the mean region feature; "zeros"),
    ``reinforce_weight``, ``entropy_weight`` and ``expectation_probability``.

    Args:
        vocab_size: the number of words (ids 0 … vocab_size − 1).
        seed: seeds the dropout and hard attention's sampling (None: unseeded).
        **kwargs: the options above, and ``keras.layers.Layer``'s arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: an unknown option, or a value it does not accept (naming both).

    Examples:
        >>> import numpy as np
        >>> decoder = LSTMDecoder(vocab_size=20, embed_dim=8, units=16, attention_dim=8)
        >>> out = decoder(np.ones((2, 9, 12), "float32"), np.ones((2, 5), "int32"))
        >>> tuple(out["logits"].shape), tuple(out["alpha"].shape), tuple(out["beta"].shape)
        ((2, 5, 20), (2, 5, 9), (2, 5))
        >>> LSTMDecoder(vocab_size=20, cell="rnn")
        Traceback (most recent call last):
        ValueError: Unknown cell 'rnn'. Accepted: lstm, peephole_lstm, cifg_lstm, gru.
    """

    OPTIONS = LSTM_OPTIONS
    registered_name = "lstm"
    unroll_limit = 64  # in training, captions padded to at most this many steps are unrolled

    def __init__(self, vocab_size, seed=None, **kwargs):
        super().__init__(vocab_size, seed, **kwargs)
        o = self.options
        self.hard, self.expectation_probability = o["attention"] == "hard", o["expectation_probability"]
        self.seed_generator = keras.random.SeedGenerator(seed, name="attention_sampler") if self.hard else None
        self.embed_dim, self.units, self.attention_dim = o["embed_dim"], o["units"], o["attention_dim"]
        self.has_cell_state, self.use_deep_output = o["cell"] != "gru", o["deep_output"]
        self.embedding = keras.layers.Embedding(self.vocab_size, self.embed_dim, name="embedding")
        if o["init_state"] == "mean":
            self.init_h = keras.layers.Dense(self.units, activation="tanh", name="init_h")
            if self.has_cell_state:
                self.init_c = keras.layers.Dense(self.units, activation="tanh", name="init_c")
        self.attention = make_attention(o["attention_score"], self.attention_dim, self.units, name="attention")
        self.gate_layer = keras.layers.Dense(1, activation="sigmoid", name="gate") if o["gate"] else None
        self.cell = make_cell(o["cell"], self.units, name="lstm" if self.has_cell_state else "gru")
        if self.use_deep_output:
            self.output_hidden = keras.layers.Dense(self.embed_dim, use_bias=False, name="output_hidden")  # L_h
            self.output_context = keras.layers.Dense(self.embed_dim, use_bias=False, name="output_context")  # L_z
        self.output_dropout = keras.layers.Dropout(o["dropout"], seed=seed, name="output_dropout")
        # L_o: float32 under a mixed-precision policy too, as Keras advises for a model's last layer;
        # in bfloat16 logits of ~10 would be rounded to steps of 0.06 and flip close choices of a word
        self.output_logits = keras.layers.Dense(self.vocab_size, name="output_logits", dtype="float32")
        if self.hard:
            self.reinforce_baseline = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                      aggregation="only_first_replica", name="reinforce_baseline")

    @property
    def readings(self):
        return ("expectation", "sample", "argmax") if self.hard else ("expectation",)

    @property
    def loss_names(self):
        return ("attention_penalty", "reinforce") if self.hard else ("attention_penalty",)

    def describe(self):
        return f"{self.options['attention']}-attention LSTM"

    def build(self, features_shape, tokens_shape=None):
        dim = features_shape[-1]
        self.embedding.build((None, None))
        if self.options["init_state"] == "mean":
            self.init_h.build((None, dim))
            if self.has_cell_state:
                self.init_c.build((None, dim))
        self.attention.build_regions((None, None, dim))
        self.attention.build((None, None, self.attention_dim), (None, self.units))
        if self.gate_layer is not None:
            self.gate_layer.build((None, self.units))
        self.cell.build((None, self.embed_dim + dim))
        if self.use_deep_output:
            self.output_hidden.build((None, self.units))
            self.output_context.build((None, dim))
        self.output_logits.build((None, self.embed_dim if self.use_deep_output else self.units))

    def initial_state(self, features):
        """The initial state h_0, c_0 from the mean region feature (two tanh layers), or zeros.

        c_0 is always zeros for the GRU, which has no cell state; both are float32 under a
        mixed-precision policy too.

        Args:
            features: region features (batch, regions, features).

        Returns:
            A pair ``(h_0, c_0)``, each (batch, units).
        """
        zeros = ops.zeros((ops.shape(features)[0], self.units), dtype="float32")
        if self.options["init_state"] == "zeros":
            return zeros, zeros
        mean = ops.mean(features, axis=1)
        return (ops.cast(self.init_h(mean), "float32"),
                ops.cast(self.init_c(mean), "float32") if self.has_cell_state else zeros)

    def advance(self, embedded, h, c, features, projected, reading="expectation", products=(None, None), beams=1):
        """One recurrence step from the embedded previous word (``step`` and ``call`` run it).

        ``features`` and ``projected`` hold one row per image; ``embedded``, ``h`` and ``c`` hold
        ``beams`` rows per image (image b's at rows b·K … b·K+K−1).

        Args:
            embedded: E y_{t-1}, (images·beams, embed_dim).
            h: h_{t-1}, (images·beams, units).
            c: c_{t-1}, (images·beams, units).
            features: region features a_i, (images, regions, features).
            projected: ``self.attention.project(features)``.
            reading: "expectation" (soft attention: ẑ = β Σ_i α_i a_i; the region is −1),
                "sample" (hard attention: s ~ Categorical(α), ẑ = β a_s) or "argmax"
                (s = argmax α). A boolean tensor chooses per call between "sample" (True) and
                "expectation" (the training minibatch's coin).
            products: the cell's and the attention's ``step_products`` in an unrolled pass, else
                ``(None, None)``.
            beams: K, the rows per image of ``embedded``, ``h`` and ``c``.

        Returns:
            A tuple ``(h, c, context, alpha, beta, region, log_p_region)``: the new state, ẑ_t
            (images·beams, features), α_t (images·beams, regions), β_t (images·beams,), the
            region read (int32, −1 for the expectation) and log α of that region (0 for the
            expectation).
        """
        cell_products, attention_products = products
        # α, β and the context stay in float32 under a mixed-precision policy (softmax over regions)
        scores = ops.cast(self.attention.scores(projected, h, attention_products, beams), "float32")  # (batch, regions)
        alpha, log_alpha = ops.softmax(scores, axis=-1), ops.log_softmax(scores, axis=-1)
        features = ops.cast(features, "float32")
        # Σ_i α_i a_i as a batched product: a broadcast product and sum would write (batch, regions,
        # features) at every word. With K beams per image, the image's regions serve all K.
        expected = per_row(ops.einsum("bkr,brd->bkd", per_image(alpha, beams), features))  # (batch·K, features)
        if isinstance(reading, str) and reading == "expectation":
            context = expected
            region = -ops.ones_like(alpha[:, 0], dtype="int32")
            log_p_region = ops.zeros_like(alpha[:, 0])
        else:
            if isinstance(reading, str) and reading == "argmax":
                region = ops.cast(ops.argmax(alpha, axis=-1), "int32")
            else:
                region = ops.cast(keras.random.categorical(log_alpha, 1, seed=self.seed_generator)[:, 0], "int32")
            one_hot = ops.one_hot(region, ops.shape(alpha)[-1], dtype=alpha.dtype)
            context = per_row(ops.einsum("bkr,brd->bkd", per_image(one_hot, beams), features))  # a_s
            log_p_region = ops.sum(one_hot * log_alpha, axis=-1)
            if not isinstance(reading, str):  # the minibatch's coin: sample (True) or expectation
                context = ops.where(reading, context, expected)
                region = ops.where(reading, region, -ops.ones_like(region))
                log_p_region = ops.where(reading, log_p_region, ops.zeros_like(log_p_region))
        beta = (ops.cast(ops.squeeze(self.gate_layer(h), -1), "float32") if self.gate_layer is not None
                else ops.ones_like(alpha[:, 0]))
        context = ops.expand_dims(beta, -1) * context
        h, c = self.cell(ops.concatenate([embedded, ops.cast(context, embedded.dtype)], axis=-1), (h, c),
                         products=cell_products)
        return h, c, context, alpha, beta, region, log_p_region

    def deep_output(self, embedded, h, context, training=None):
        """Logits over the vocabulary from E y_{t-1}, h_t and ẑ_t (any leading dimensions).

        From h_t alone when the deep output layer is off.

        Args:
            embedded: E y_{t-1}, (..., embed_dim).
            h: h_t, (..., units).
            context: ẑ_t, (..., features).
            training: whether the dropout is active.

        Returns:
            The logits (..., vocab_size), float32.
        """
        return self.output_logits(self.output_features(embedded, h, context, training=training))

    def output_features(self, embedded, h, context, training=None):
        """What the product over the vocabulary reads: dropout(tanh(E y_{t-1} + L_h h_t + L_z ẑ_t)).

        Or dropout(h_t) when the deep output layer is off.

        Args:
            embedded: E y_{t-1}, (..., embed_dim).
            h: h_t, (..., units).
            context: ẑ_t, (..., features).
            training: whether the dropout is active.

        Returns:
            A tensor (..., embed_dim), or (..., units) without the deep output layer.
        """
        if not self.use_deep_output:
            return self.output_dropout(h, training=training)
        x = ops.tanh(embedded + self.output_hidden(h) + self.output_context(context))
        return self.output_dropout(x, training=training)

    def load_own_variables(self, store):
        """Keras' loading of the baseline; a file saved before the decoder became a part has it on the
        Captioner (``Captioner.load_own_variables`` moves it here)."""
        if self.hard and not store.keys():
            return
        super().load_own_variables(store)

    # --- generation: the decoder interface --------------------------------------------------------

    def context(self, regions):
        """Once per image: the regions in float32 and their projection for the attention.

        Args:
            regions: region features (images, regions, channels).

        Returns:
            A pair ``(features, projected)``.
        """
        features = ops.cast(regions, "float32")
        return features, self.attention.project(features)

    def recurrence(self, embedded, h, c, context, beams=1, reading="expectation"):
        """A generation step up to the product over the vocabulary (what ``search_step`` compiles).

        Args:
            embedded: E y_{t-1}, (rows, embed_dim).
            h: h_{t-1}, (rows, units).
            c: c_{t-1}, (rows, units).
            context: ``self.context(regions)``, one row per image.
            beams: K, the rows per image.
            reading: "expectation", "sample" or "argmax" (see ``advance``).

        Returns:
            ``(h, c, features, alpha, beta, region)``: the new state, what the product over the
            vocabulary reads (``output_features``), α_t, β_t and the region read.
        """
        features, projected = context
        h, c, attended, alpha, beta, region, _ = self.advance(embedded, h, c, features, projected, reading,
                                                              beams=beams)
        return h, c, self.output_features(embedded, h, attended, training=False), alpha, beta, region

    def step(self, tokens, state, context, beams=1, reading="expectation", recurrence=None):
        """One generation step: the previous words → the next word's logits, the new state, α, β.

        Args:
            tokens: the previous word ids (rows,).
            state: ``(h, c)``, each (rows, units).
            context: ``self.context(regions)``, one row per image.
            beams: K, the rows per image of ``tokens`` and ``state``.
            reading: "expectation", or for hard attention "sample" or "argmax" (see ``advance``).
            recurrence: ``self.recurrence``, or a compiled version of it (``search_step``'s).

        Returns:
            ``(logits (rows, vocab) float32, (h, c), {"alpha", "beta", "region"})``; the region is
            −1 for the expectation.
        """
        h, c, hidden, alpha, beta, region = (recurrence or self.recurrence)(
            self.embedding(tokens), state[0], state[1], context, beams, reading)
        logits = ops.cast(self.output_logits(hidden), "float32")
        return logits, (h, c), {"alpha": alpha, "beta": beta, "region": region}

    def search_step(self, regions, beam_size, reading="expectation", max_length=None):
        """``Decoder.search_step`` with the recurrence compiled by XLA for a float32 decoder.

        The recurrence (attention, gate, LSTM and the deep output's tanh layer) runs under XLA,
        which fuses the attention's sum, tanh and score into one pass over the regions; the product
        over the vocabulary and the search's bookkeeping stay with TensorFlow's own kernels (faster
        there on a CPU). Of the layouts measured (no XLA, the whole step under it, the recurrence
        alone, the whole search under it), the recurrence alone was the fastest. Under a 16-bit
        policy XLA's rounding dropped a bfloat16 model's agreement with the float32 one's captions
        below 95 %, so there the step runs as is.
        """
        import tensorflow as tf

        xla = self.compute_dtype == "float32"
        context, images = self.context(regions), regions.shape[0]
        state = tf.function(self.initial_state, jit_compile=xla)(context[0])  # the mean over regions, fused
        recurrence = tf.function(self.recurrence, jit_compile=xla)

        def step_fn(tokens, state):
            beams = 1 if tokens.shape[0] == images else beam_size
            return self.step(tokens, state, context, beams, reading, recurrence=recurrence)

        return state, step_fn

    # --- training ------------------------------------------------------------------------------------

    def loss_terms(self, outputs, token_loss, mask, is_caption, training):
        """λ times the doubly stochastic penalty, and for hard attention the REINFORCE surrogate.

        See ``Decoder.loss_terms``; the penalty is ``showattend.losses.doubly_stochastic_penalty``,
        the surrogate ``showattend.losses.hard_attention_term`` (which moves ``reinforce_baseline``
        in training).
        """
        terms = {"attention_penalty": (ops.sum(doubly_stochastic_penalty(outputs["alpha"], mask) * is_caption),
                                       self.options["doubly_stochastic"])}
        if self.hard:
            terms["reinforce"] = (hard_attention_term(outputs, token_loss, mask, is_caption, self.reinforce_baseline,
                                                      self.options["reinforce_weight"],
                                                      self.options["entropy_weight"], training), 1.0)
        return terms

    def call(self, features, tokens, training=None):
        """Teacher forcing: features (batch, regions, dim), tokens (batch, steps) from ``<start>``.

        Returns logits, α and β per step; a hard-attention decoder also returns, per step, the
        region read (−1: expectation), its log α ("log_p_region"), the entropy of α, and
        "sampled" (batch,): 1 where this minibatch sampled regions. In training it samples with
        probability 1 − ``expectation_probability`` (one coin per call), else reads the expectation.
        """
        features = ops.cast(features, "float32")  # as every step reads them (and the scan's carry holds)
        embedded = self.embedding(tokens)  # (batch, steps, embed)
        h, c = self.initial_state(features)
        projected = self.attention.project(features)  # once per image: (batch, regions, attention_dim)
        reading = "expectation"
        if self.hard and training:
            coin = keras.random.uniform((), seed=self.seed_generator)
            reading = ops.greater_equal(coin, self.expectation_probability)

        steps = tokens.shape[1]
        state = (h, c)
        if training and steps is not None and steps <= self.unroll_limit:
            # Training on a static number of steps: unrolled, the graph has no while loop (faster on
            # CPU, and XLA can compile it). Only h and c carry over; each step's outputs are stacked after.
            # The weight gradients of the products with h are taken once over all steps (StepProducts)
            batch = ops.shape(features)[0]
            products = (self.cell.step_products(steps, batch), self.attention.step_products(steps, batch))
            outputs, words = [], ops.unstack(embedded, steps, axis=1)  # (one gradient op, not one per word)
            for t in range(steps):
                step = self.advance(words[t], state[0], state[1], features, projected, reading, products)
                state, outputs = step[:2], outputs + [step]
            stacked = [ops.stack(o, axis=1) for o in zip(*outputs)]
        else:
            # A forward pass alone (evaluation, validation loss) scans: at the paper configuration it runs
            # about as fast as the unrolled pass and traces in a third of the time (docs/scale.md, from
            # benchmarks/recurrence_modes.py).
            # keras.ops.scan on TensorFlow needs the per-step outputs to mirror the carry, so the
            # carry holds every output of a step and the step reads only h and c from it.
            def body(carry, embedded_t):
                out = self.advance(embedded_t, carry[0], carry[1], features, projected, reading)
                return out, out

            batch = ops.shape(features)[0]
            init = (h, c, ops.zeros_like(features[:, 0]), ops.zeros_like(features[:, :, 0]), ops.zeros((batch,)),
                    ops.zeros((batch,), dtype="int32"), ops.zeros((batch,)))
            _, stacked = ops.scan(body, init, ops.transpose(embedded, (1, 0, 2)))
            stacked = [ops.moveaxis(o, 0, 1) for o in stacked]
        hs, _, contexts, alphas, betas, regions, log_p_regions = stacked
        logits = self.deep_output(embedded, hs, contexts, training=training)  # all steps at once
        outputs = {"logits": logits, "alpha": alphas, "beta": betas}  # (batch, steps, vocab|regions|)
        if self.hard:
            safe = ops.maximum(alphas, 1e-30)
            outputs.update(regions=regions, log_p_region=log_p_regions,
                           entropy=-ops.sum(alphas * ops.log(safe), axis=-1),
                           sampled=ops.zeros_like(betas[:, 0]) + (0.0 if isinstance(reading, str)
                                                                 else ops.cast(reading, betas.dtype)))
        return outputs
