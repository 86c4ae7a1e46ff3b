"""``minpy.dispatch.policy``: the policies only choose a backend; the reference has one (NumPy)."""


class Policy:
    pass


class PreferMXNetPolicy(Policy):
    pass


class OnlyNumPyPolicy(Policy):
    pass


class OnlyMXNetPolicy(Policy):
    pass
