"""Train a two-layer net on scikit-learn's digits, data-parallel when launched on several workers.

    python -m imperdl.launch -n 2 examples/distributed_digits.py    # 2 workers + 1 server on this machine
    python examples/distributed_digits.py                           # one process: the same numbers

The script is an ordinary Solver script; ``kvstore='dist_sync'`` is the only distributed part. Every worker
computes on its half of each minibatch, the gradients are averaged through MXNet's KVStore, and rank 0 prints.
"""
from __future__ import annotations

import argparse

import numpy as onp

import imperdl.numpy as np
from imperdl.nn import ModelBase, Solver, layers
from imperdl.nn.datasets import load_digits


class TwoLayerNet(ModelBase):
    def __init__(self, hidden: int = 64):
        super().__init__()
        self.add_param("w1", (64, hidden)).add_param("b1", (hidden,))
        self.add_param("w2", (hidden, 10)).add_param("b2", (10,))

    def forward(self, X, mode):
        h = layers.relu(layers.affine(X, self.params["w1"], self.params["b1"]))
        return layers.affine(h, self.params["w2"], self.params["b2"])

    def loss(self, predict, y):
        return layers.softmax_loss(predict, y)


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--checkpoint", default=None, help="checkpoint name (resumed from when it exists)")
    args = p.parse_args(argv)

    data = load_digits()
    onp.random.seed(0)  # the parameters' initial values; rank 0's are sent to every worker anyway
    solver = Solver(TwoLayerNet(), data, update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
                    batch_size=args.batch_size, num_epochs=args.epochs, seed=0, print_every=50,
                    kvstore="dist_sync", checkpoint_name=args.checkpoint, resume=bool(args.checkpoint) or None,
                    init_rule="xavier")
    solver.train()
    scores = solver.model.forward(np.asarray(data["X_test"]), "test")
    accuracy = float((onp.argmax(onp.asarray(scores), axis=1) == data["y_test"]).mean())
    if solver.rank == 0:
        print(f"final test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
