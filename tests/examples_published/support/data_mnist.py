"""Synthetic stand-in for autograd's examples/data_mnist.py: instead of downloading MNIST, ``mnist()`` returns
uint8 images (N, 28, 28) and uint8 labels (N,) like MNIST's, drawn from a fixed generator. N is small (the
examples' training loops are shortened by their declared edits); set PUBLISHED_MNIST_N to change it."""
import os

import numpy


def mnist():
    n_train = int(os.environ.get("PUBLISHED_MNIST_N", "200"))
    n_test = max(n_train // 2, 1)
    rs = numpy.random.RandomState(1234)
    labels = rs.randint(0, 10, n_train + n_test).astype(numpy.uint8)
    # images that depend on their label, so that the examples' classifiers have something to learn
    prototypes = rs.randint(0, 256, (10, 28, 28))
    noise = rs.randint(0, 64, (n_train + n_test, 28, 28))
    images = numpy.clip(prototypes[labels] // 2 + noise, 0, 255).astype(numpy.uint8)
    return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]
