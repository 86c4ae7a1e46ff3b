"""The launcher: ``python -m imperdl.launch -n WORKERS [-s SERVERS] [--hostfile FILE] script.py args...``.

It starts MXNet's ps-lite roles as separate processes, scheduler first, then the servers, then the workers
(``python script.py args...``), forwards their output line by line with a prefix (``[worker 0] ``, ``[server 0] ``,
``[scheduler] ``), propagates the first non-zero worker exit and stops every process it started when the run
ends, fails, times out or is interrupted. ``run`` is the same as a function.

Environment each process gets (the contract ``imperdl.distributed`` reads):
``DMLC_PS_ROOT_URI``/``DMLC_PS_ROOT_PORT`` (the scheduler's address and port), ``DMLC_NUM_SERVER``,
``DMLC_NUM_WORKER``, ``DMLC_ROLE`` (scheduler|server|worker), ``DMLC_NODE_HOST`` (this process's own address), and
on one machine ``DMLC_INTERFACE=lo``; workers also get ``IMPERDL_LAUNCH=1`` and ``IMPERDL_LAUNCH_INDEX`` (the
launch slot 0..W-1, which need not be the KVStore rank). Every process also gets ``PYTHONUNBUFFERED=1``.

Over ssh (``hostfile``): each process is ``ssh -o BatchMode=yes -tt HOST 'cd CWD && exec env VARS... python ...'``
(the ssh command from ``ssh=``/``--ssh``/``IMPERDL_SSH``, default ``ssh``), with the scheduler on the first host.
Remote processes get the variables above (no ``DMLC_INTERFACE``), ``PYTHONPATH`` when set here and the ``env``
given, not the rest of the local environment. Guaranteed remotely: the remote command is started under a terminal,
so when the launcher stops the local ssh (teardown, failure, Ctrl-C) sshd hangs up and the remote process gets
SIGHUP, which ends a Python program that does not handle it. Not guaranteed: a remote process that ignores or
handles SIGHUP, or whose own children left its session, keeps running; if the network between the machines fails,
remote processes notice only when ssh's connection times out; if the launcher is killed with SIGKILL, its local
children are not stopped (every other way out stops them).
"""
from __future__ import annotations

from .runner import LaunchError, run

__all__ = ["run", "LaunchError"]
