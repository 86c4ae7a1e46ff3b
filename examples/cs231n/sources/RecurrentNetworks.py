# Source of RecurrentNetworks.ipynb and solutions/RecurrentNetworks.ipynb (see build_notebooks.py).
# Run it as a script to execute the reference solution: python sources/RecurrentNetworks.py

# %% [markdown]
# # Recurrent networks: captioning images of digits
#
# A recurrent network reads or writes a sequence one step at a time, carrying a hidden state from step to step.
# In this assignment you write a vanilla RNN and an LSTM, and use them to **caption images**: the network looks
# at a strip of up to three handwritten digits and writes their names, word by word: `<START> four one nine
# <END>`.
#
# The data is real and ships with scikit-learn (its 8x8 digits), so everything runs offline in minutes on a
# CPU. As before you write forward code only: backpropagation through time, the part of recurrent networks
# most painful to derive by hand, is done by imperdl, and checked against finite differences in float64.
#
# You will write: `rnn_step_forward`, `rnn_forward`, `word_embedding_forward`, `lstm_step_forward`,
# `lstm_forward`, and the loss and the sampling loop of `CaptioningRNN`.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy  # plain NumPy, for reference values and data handling

import imperdl
import imperdl.numpy as np
from imperdl.core import grad_and_loss
from imperdl.nn import datasets, layers, optim
from imperdl.nn.gradient_check import (
    check_gradients,
    eval_numerical_gradient,
    rel_error,
)

# IMPERDL_COURSE_SMALL=1 (set by the course's CI test) shrinks every experiment so the notebook runs quickly.
SMALL = os.environ.get("IMPERDL_COURSE_SMALL", "") not in ("", "0")
# On a laptop CPU, NumPy is the fastest backend for these small recurrent steps (MXNet's CPU wheel is built
# without AVX and costs ~10 us per call). On a machine with a GPU and mxnet-cu112, try "prefer_mxnet".
imperdl.set_global_policy(os.environ.get("IMPERDL_COURSE_POLICY", "only_numpy"))
plt.rcParams["figure.figsize"] = (10.0, 4.0)
print(f"imperdl {imperdl.__version__}, policy {imperdl.get_global_policy().name}, small mode: {SMALL}")


def rand(*shape, seed=None):
    """A float64 NumPy array of standard normal values (gradient checks need float64)."""
    rng = numpy.random.RandomState(seed) if seed is not None else numpy.random
    return rng.randn(*shape)


# %% [markdown]
# ## The data: strips of digits and their names
#
# Each example is a strip of three 8x8 slots, filled from the left with one to three digit images (empty slots
# are blank), and its caption: `<START>`, the digits' names, `<END>`, then `<NULL>` padding so every caption has
# the same length. Captions are stored as word indices. Training strips are built from the training digits,
# validation strips from the validation digits: no image appears in both. The network sees the strip's 192
# pixels (minus the mean training strip) as its "image features".

# %%
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
idx_to_word = ["<NULL>", "<START>", "<END>", *NAMES]
word_to_idx = {w: i for i, w in enumerate(idx_to_word)}
NULL, START, END = word_to_idx["<NULL>"], word_to_idx["<START>"], word_to_idx["<END>"]
SLOTS = 3

digits = datasets.load_digits(flatten=False, subtract_mean=False)


def make_strips(X, y, count, seed):
    """``count`` strips of 1..SLOTS random digits from images X (n, 1, 8, 8) with labels y, and their captions."""
    rng = numpy.random.RandomState(seed)
    strips = numpy.zeros((count, 8, 8 * SLOTS), dtype=numpy.float32)
    captions = numpy.full((count, SLOTS + 2), NULL, dtype=numpy.int64)
    for k in range(count):
        picks = rng.randint(len(X), size=rng.randint(1, SLOTS + 1))
        for slot, i in enumerate(picks):
            strips[k, :, 8 * slot:8 * slot + 8] = X[i, 0]
        captions[k, :len(picks) + 2] = [START, *(word_to_idx[NAMES[y[i]]] for i in picks), END]
    return strips, captions


def decode(caption):
    """Word indices -> text, without <START> and stopping at <END>."""
    words = []
    for i in caption:
        if i == END:
            break
        if i not in (NULL, START):
            words.append(idx_to_word[i])
    return " ".join(words)


train_strips, train_captions = make_strips(digits["X_train"], digits["y_train"], 1500 if SMALL else 5000, seed=0)
val_strips, val_captions = make_strips(digits["X_val"], digits["y_val"], 300, seed=1)
strip_mean = train_strips.mean(axis=0)
train_features = (train_strips - strip_mean).reshape(len(train_strips), -1)
val_features = (val_strips - strip_mean).reshape(len(val_strips), -1)
print("train features", train_features.shape, "captions", train_captions.shape, " val", val_features.shape)

fig, axes = plt.subplots(1, 4, figsize=(12, 2))
for k, ax in enumerate(axes):
    ax.imshow(train_strips[k], cmap="gray_r")
    ax.set_title(decode(train_captions[k]))
    ax.axis("off")
plt.show()
print("first caption as indices:", train_captions[0])

# %% [markdown]
# ## A vanilla RNN step
#
# One step maps an input `x` of shape `(N, D)` and the previous hidden state `prev_h` of shape `(N, H)` to the
# next state `tanh(x @ Wx + prev_h @ Wh + b)`, with `Wx (D, H)`, `Wh (H, H)` and `b (H,)`.

# %%
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One vanilla RNN step: next_h (N, H)."""
    # TODO: one line.
    # BEGIN SOLUTION rnn_step_forward
    next_h = np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)
    # END SOLUTION
    return next_h


# %%
N, D, H = 3, 10, 4
x, h, Wx, Wh, b = rand(N, D, seed=0), rand(N, H, seed=1), rand(D, H, seed=2), rand(H, H, seed=3), rand(H, seed=4)
assert rel_error(rnn_step_forward(x, h, Wx, Wh, b), layers.rnn_step(x, h, Wx, Wh, b)) < 1e-12
print("matches imperdl.nn.layers.rnn_step")
check_gradients(rnn_step_forward, x, h, Wx, Wh, b, names=["x", "prev_h", "Wx", "Wh", "b"])

# %% [markdown]
# ## A vanilla RNN over a sequence
#
# `rnn_forward(x, h0, Wx, Wh, b)` runs the step over the `T` time steps of `x (N, T, D)` starting from `h0 (N, H)`
# and returns all hidden states, `(N, T, H)`. A Python loop is fine. Collect the states in a list and
# `np.stack` them at the end: that keeps the computation purely functional, which is what the recorder
# likes best.

# %%
def rnn_forward(x, h0, Wx, Wh, b):
    """Hidden states (N, T, H) of a vanilla RNN over x (N, T, D) from h0 (N, H)."""
    # TODO: loop over time with rnn_step_forward.
    # BEGIN SOLUTION rnn_forward
    h, states = h0, []
    for t in range(x.shape[1]):
        h = rnn_step_forward(x[:, t, :], h, Wx, Wh, b)
        states.append(h)
    hs = np.stack(states, axis=1)
    # END SOLUTION
    return hs


# %%
N, T, D, H = 2, 5, 4, 3
x, h0, Wx, Wh, b = rand(N, T, D, seed=5), rand(N, H, seed=6), rand(D, H, seed=7), rand(H, H, seed=8), rand(H, seed=9)
hs = rnn_forward(x, h0, Wx, Wh, b)
assert hs.shape == (N, T, H) and rel_error(hs, layers.rnn(x, h0, Wx, Wh, b)) < 1e-12
print("matches imperdl.nn.layers.rnn; gradients through all", T, "steps:")
check_gradients(rnn_forward, x, h0, Wx, Wh, b, names=["x", "h0", "Wx", "Wh", "b"])

# %% [markdown]
# ## Word embeddings
#
# Words enter the network as vectors: `W (V, D)` holds one learned vector per word of the vocabulary, and a
# minibatch of word indices `x (N, T)` becomes `(N, T, D)` by picking rows. (Its gradient adds each position's
# gradient into the row of its word, *accumulating* when a word repeats: imperdl does that for you.)

# %%
def word_embedding_forward(x, W):
    """Rows of W (V, D) picked by the integer indices x (N, T): (N, T, D)."""
    # TODO: one line of integer-array indexing.
    # BEGIN SOLUTION word_embedding_forward
    out = W[x]
    # END SOLUTION
    return out


# %%
x = numpy.array([[0, 3, 1, 3], [2, 2, 0, 1]])  # words 3, 2 and 0 repeat
W = rand(5, 6, seed=10)
out = word_embedding_forward(x, W)
assert out.shape == (2, 4, 6) and rel_error(out, layers.word_embedding(x, W)) < 1e-12
check_gradients(lambda W: word_embedding_forward(x, W), W, names=["W"])

# %% [markdown]
# ## Temporal layers and the loss (given)
#
# Two more pieces come from the library, used exactly like the course's:
#
# * `layers.temporal_affine(x, w, b)`: the same affine map at every time step, `(N, T, D) -> (N, T, M)`;
# * `layers.temporal_softmax_loss(x, y, mask)`: softmax cross-entropy of the scores `x (N, T, V)` against the
#   words `y (N, T)`, counted only where `mask` is true (not at padding), summed and divided by `N`.
#
# A quick sanity check: with near-uniform scores the loss per counted word is `log(V)`.

# %%
N, T, V = 100, 5, 13
scores = 0.001 * rand(N, T, V, seed=11)
targets = numpy.random.RandomState(12).randint(V, size=(N, T))
for p in [1.0, 0.5, 0.1]:
    mask = numpy.random.RandomState(13).rand(N, T) <= p
    loss = float(layers.temporal_softmax_loss(scores, targets, mask))
    expected = mask.sum() / N * numpy.log(V)
    print(f"{mask.mean():.2f} of the words counted: loss {loss:.3f}, expected about {expected:.3f}")
    assert abs(loss - expected) < 0.01 * expected

# %% [markdown]
# ## LSTM
#
# An LSTM step keeps a cell state `c` next to the hidden state. From `a = x @ Wx + prev_h @ Wh + b`, of shape
# `(N, 4H)`, cut into four blocks of `H` columns in this order: the input gate `i = sigmoid(a_i)`, the forget gate
# `f = sigmoid(a_f)`, the output gate `o = sigmoid(a_o)` and the candidate `g = tanh(a_g)`. Then
# `next_c = f * prev_c + i * g` and `next_h = o * tanh(next_c)`.
#
# `lstm_forward` runs it over a sequence from `h0` and a zero initial cell, returning the hidden states.

# %%
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step: (next_h, next_c), both (N, H)."""
    # TODO: the gates, then the new cell and hidden states.
    # BEGIN SOLUTION lstm_step_forward
    H = prev_h.shape[1]
    a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    # END SOLUTION
    return next_h, next_c


def lstm_forward(x, h0, Wx, Wh, b):
    """Hidden states (N, T, H) of an LSTM over x (N, T, D) from h0 (N, H) and a zero cell."""
    # TODO: loop over time with lstm_step_forward.
    # BEGIN SOLUTION lstm_forward
    h, c, states = h0, np.zeros_like(h0), []
    for t in range(x.shape[1]):
        h, c = lstm_step_forward(x[:, t, :], h, c, Wx, Wh, b)
        states.append(h)
    hs = np.stack(states, axis=1)
    # END SOLUTION
    return hs


# %%
N, T, D, H = 3, 4, 5, 6
x, h, c = rand(N, D, seed=14), rand(N, H, seed=15), rand(N, H, seed=16)
Wx, Wh, b = 0.5 * rand(D, 4 * H, seed=17), 0.5 * rand(H, 4 * H, seed=18), rand(4 * H, seed=19)
next_h, next_c = lstm_step_forward(x, h, c, Wx, Wh, b)
ref_h, ref_c = layers.lstm_step(x, h, c, Wx, Wh, b)
assert rel_error(next_h, ref_h) < 1e-12 and rel_error(next_c, ref_c) < 1e-12
print("lstm_step matches imperdl.nn.layers.lstm_step")
print("gradients of next_h:")
check_gradients(lambda *a: lstm_step_forward(*a)[0], x, h, c, Wx, Wh, b, names=["x", "h", "c", "Wx", "Wh", "b"])
print("gradients of next_c:")
check_gradients(lambda *a: lstm_step_forward(*a)[1], x, h, c, Wx, Wh, b, names=["x", "h", "c", "Wx", "Wh", "b"])

xs, h0 = rand(N, T, D, seed=20), rand(N, H, seed=21)
hs = lstm_forward(xs, h0, Wx, Wh, b)
assert hs.shape == (N, T, H) and rel_error(hs, layers.lstm(xs, h0, Wx, Wh, b)) < 1e-12
print("lstm matches imperdl.nn.layers.lstm; gradients through the sequence:")
# Wh's gradient sums contributions from every step, some of opposite signs: its finite differences keep a
# digit or two fewer, so the bar is 1e-6 here
check_gradients(lstm_forward, xs, h0, Wx, Wh, b, names=["x", "h0", "Wx", "Wh", "b"], tol=1e-6)

# %% [markdown]
# ## The captioning model
#
# `CaptioningRNN` turns image features `(N, D)` into the initial hidden state with an affine map (`W_proj`,
# `b_proj`), then reads the caption one word at a time: at each step the input is the embedding of the
# *current* word and the target is the *next* word. So for captions `(N, T + 1)`:
#
# 1. `captions_in = captions[:, :-1]` are the inputs and `captions_out = captions[:, 1:]` the targets, and
#    `mask = captions_out != NULL`;
# 2. `h0` from the features, word vectors from `W_embed`, hidden states from your `rnn_forward` or
#    `lstm_forward` (`Wx`, `Wh`, `b`), word scores from `layers.temporal_affine` (`W_vocab`, `b_vocab`);
# 3. the loss is `layers.temporal_softmax_loss` of the scores against `captions_out` under `mask`.
#
# At test time there is no caption to read: `sample` starts from `<START>`, feeds each step's highest-scoring
# word back in as the next input, and records the words (greedy decoding).

# %%
class CaptioningRNN:
    """Image features -> h0; word embeddings -> RNN or LSTM -> word scores."""

    def __init__(self, word_to_idx, input_dim, wordvec_dim=32, hidden_dim=128, cell_type="rnn",
                 dtype=numpy.float32, seed=None):
        assert cell_type in ("rnn", "lstm")
        self.cell_type = cell_type
        self.word_to_idx = word_to_idx
        V, G = len(word_to_idx), 4 if cell_type == "lstm" else 1
        rng = numpy.random.RandomState(seed)
        shapes = {"W_proj": (input_dim, hidden_dim), "b_proj": (hidden_dim,), "W_embed": (V, wordvec_dim),
                  "Wx": (wordvec_dim, G * hidden_dim), "Wh": (hidden_dim, G * hidden_dim), "b": (G * hidden_dim,),
                  "W_vocab": (hidden_dim, V), "b_vocab": (V,)}
        self.params = {}
        for name, shape in shapes.items():
            if name.startswith("b"):
                values = numpy.zeros(shape)
            elif name == "W_embed":
                values = rng.randn(*shape) / 10
            else:
                values = rng.randn(*shape) / numpy.sqrt(shape[0])
            self.params[name] = np.array(values, dtype=dtype)

    def caption_loss(self, params, features, captions):
        """The temporal softmax loss of predicting each next word of ``captions`` (N, T + 1)."""
        NULL = self.word_to_idx["<NULL>"]
        # TODO: steps 1-3 above; use params[...] (not self.params), your word_embedding_forward and your
        # rnn_forward or lstm_forward depending on self.cell_type.
        # BEGIN SOLUTION CaptioningRNN.caption_loss
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != NULL
        h0 = layers.affine(features, params["W_proj"], params["b_proj"])
        words = word_embedding_forward(captions_in, params["W_embed"])
        recurrent = lstm_forward if self.cell_type == "lstm" else rnn_forward
        hs = recurrent(words, h0, params["Wx"], params["Wh"], params["b"])
        scores = layers.temporal_affine(hs, params["W_vocab"], params["b_vocab"])
        loss = layers.temporal_softmax_loss(scores, captions_out, mask)
        # END SOLUTION
        return loss

    def loss(self, features, captions):
        """(loss, grads), grads keyed like self.params."""
        grads, loss = grad_and_loss(lambda params: self.caption_loss(params, features, captions))(self.params)
        return loss, grads

    def sample(self, features, max_length=SLOTS + 1):
        """Greedy captions (N, max_length) of word indices for image features (N, D)."""
        p = self.params
        N = features.shape[0]
        captions = numpy.full((N, max_length), self.word_to_idx["<NULL>"], dtype=numpy.int64)
        # TODO: h from the features (and a zero cell for the LSTM); the first input word is <START>; at every
        # step embed the current words, take one rnn/lstm step, score the vocabulary with an affine map, write
        # the argmax into captions[:, t] and use it as the next input.
        # BEGIN SOLUTION CaptioningRNN.sample
        h = layers.affine(features, p["W_proj"], p["b_proj"])
        c = np.zeros_like(h)
        words = numpy.full(N, self.word_to_idx["<START>"], dtype=numpy.int64)
        for t in range(max_length):
            x = word_embedding_forward(words, p["W_embed"])
            if self.cell_type == "lstm":
                h, c = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
            else:
                h = rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
            scores = layers.affine(h, p["W_vocab"], p["b_vocab"])
            words = numpy.asarray(np.argmax(scores, axis=1))
            captions[:, t] = words
        # END SOLUTION
        return captions


# %% [markdown]
# ### Check the model
#
# The gradients of the whole model, every parameter, against finite differences (float64, small sizes), for
# both cells. As for the other whole networks of this course, `1e-5` is the bar: the largest relative errors
# come from entries whose gradient is nearly zero, which keep only a few correct digits in a finite difference.

# %%
def check_model_gradients(model, features, captions, tol=1e-5):
    """model.loss's gradients against finite differences, one parameter array at a time."""
    loss, grads = model.loss(features, captions)
    print(f"  loss {float(loss):.4f} (about 2.5 * log({len(word_to_idx)}) = "
          f"{2.5 * numpy.log(len(word_to_idx)):.4f} for 2.5 words per caption)")
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(lambda _: model.loss(features, captions)[0], model.params[name],
                                          verbose=False)
        err = rel_error(numeric, grads[name])
        print(f"  {name:8s} relative error {err:.2e}")
        assert err < tol, name


N, D, Wd, H = 2, 6, 4, 5
features = rand(N, D, seed=22)
captions = numpy.array([[START, 5, 7, END, NULL], [START, 4, END, NULL, NULL]])
for cell_type in ["rnn", "lstm"]:
    print(f"{cell_type}:")
    model = CaptioningRNN(word_to_idx, input_dim=D, wordvec_dim=Wd, hidden_dim=H, cell_type=cell_type,
                          dtype=numpy.float64, seed=23)
    check_model_gradients(model, features, captions)

# %% [markdown]
# ## Training
#
# Captioning data is not a classification data set, so instead of the `Solver` a short loop samples
# minibatches and applies Adam (`imperdl.nn.optim.adam`) to every parameter, decaying the learning rate every
# 100 iterations.

# %%
def train(model, features, captions, num_iters, batch_size=50, learning_rate=5e-3, lr_decay=0.8, seed=0):
    """Minibatch Adam on the captioning loss, learning rate times lr_decay every 100 iterations; returns the
    loss history."""
    rng = numpy.random.RandomState(seed)
    configs = {name: {"learning_rate": learning_rate} for name in model.params}
    history = []
    for it in range(1, num_iters + 1):
        idx = rng.randint(len(features), size=batch_size)
        loss, grads = model.loss(features[idx], captions[idx])
        for name in model.params:
            model.params[name], configs[name] = optim.adam(model.params[name], grads[name], configs[name])
            if it % 100 == 0:
                configs[name]["learning_rate"] *= lr_decay
        history.append(float(loss))
    return history


def caption_accuracy(model, features, captions):
    """(fraction of captions generated exactly right, fraction of digits named right in their slot)."""
    generated = [decode(c).split() for c in model.sample(features)]
    truth = [decode(c).split() for c in captions]
    exact = numpy.mean([g == t for g, t in zip(generated, truth)])
    named = numpy.mean([k < len(g) and g[k] == w for g, t in zip(generated, truth) for k, w in enumerate(t)])
    return exact, named


# %% [markdown]
# ### Overfit a little data
#
# 50 strips, 100 iterations: both networks should drive the loss close to zero.

# %%
for cell_type in ["rnn", "lstm"]:
    model = CaptioningRNN(word_to_idx, input_dim=train_features.shape[1], cell_type=cell_type, seed=0)
    history = train(model, train_features[:50], train_captions[:50], num_iters=100, batch_size=25)
    exact, _ = caption_accuracy(model, train_features[:50], train_captions[:50])
    print(f"{cell_type}: loss {history[0]:.2f} -> {history[-1]:.3f}; {exact:.0%} of the 50 captions exactly right")
    plt.plot(history, label=cell_type)
    assert history[-1] < 0.1 * history[0] and exact >= 0.9
plt.xlabel("iteration")
plt.ylabel("training loss")
plt.legend()
plt.show()

# %% [markdown]
# ### Train on all the strips
#
# Now the real thing: train both networks on the training strips and measure them on the validation strips,
# which are made of digit images they never saw.

# %%
num_iters = 300 if SMALL else 1000
captioners = {}
for cell_type in ["rnn", "lstm"]:
    start = time.perf_counter()
    model = CaptioningRNN(word_to_idx, input_dim=train_features.shape[1], cell_type=cell_type, seed=1)
    history = train(model, train_features, train_captions, num_iters=num_iters, batch_size=50)
    exact, named = caption_accuracy(model, val_features, val_captions)
    captioners[cell_type] = model
    print(f"{cell_type:4s}: final loss {numpy.mean(history[-20:]):.3f}; validation: {exact:.1%} of captions exactly "
          f"right, {named:.1%} of digits named right ({time.perf_counter() - start:.1f} s)")
    plt.plot(history, label=cell_type, lw=0.8)
    assert named >= (0.6 if SMALL else 0.9)
plt.xlabel("iteration")
plt.ylabel("training loss")
plt.legend()
plt.show()

# %% [markdown]
# ## Sampling from the trained model
#
# Captions the LSTM writes for validation strips it never saw:

# %%
model = captioners["lstm"]
fig, axes = plt.subplots(2, 4, figsize=(14, 3.5))
generated = model.sample(val_features[:8])
for k, ax in enumerate(axes.ravel()):
    ax.imshow(val_strips[k], cmap="gray_r")
    ax.set_title(f"wrote: {decode(generated[k])}\ntruth: {decode(val_captions[k])}", fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()
for k in range(8):
    print(f"truth: {decode(val_captions[k]):22s} sampled: {decode(generated[k])}")
