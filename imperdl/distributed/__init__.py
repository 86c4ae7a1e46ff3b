"""Data-parallel training on MXNet's KVStore (ps-lite): the same script on every worker, gradients summed.

Start workers with the launcher (``python -m imperdl.launch -n 2 train.py``); in each, ``init()`` joins the run
and ``rank()``/``world_size()`` say where it stands. Each worker computes gradients on its own shard with the
ordinary tape; ``allreduce_gradients`` averages them over the workers so that every worker applies the same
update, or ``set_optimizer`` + ``update_on_server`` lets the servers apply it. ``broadcast_parameters`` starts
every worker from rank 0's values. Without the launcher, ``init()`` makes a world of one process, so the script
runs unchanged under plain ``python``. A KVStore call that blocks longer than the timeout (a dead peer) ends the
worker with a message (``watchdog``). See docs/distributed.md.
"""
from .collectives import allreduce_gradients, broadcast_bytes, broadcast_parameters
from .server import set_optimizer, update_on_server
from .watchdog import EXIT_TIMEOUT
from .world import barrier, init, is_initialized, kvstore_type, rank, shutdown, world_size

__all__ = [
    "init", "is_initialized", "rank", "world_size", "barrier", "kvstore_type", "shutdown",
    "allreduce_gradients", "broadcast_parameters", "broadcast_bytes", "set_optimizer", "update_on_server",
    "EXIT_TIMEOUT",
]
