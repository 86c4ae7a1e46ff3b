"""A no-op stand-in for matplotlib: the published examples plot while they train; the harness compares what they
print, so every matplotlib name is an object that accepts any call, attribute, index or iteration and does nothing."""


class _Anything:
    def __call__(self, *args, **kwargs):
        return _Anything()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything()

    def __getitem__(self, key):
        return _Anything()

    def __iter__(self):
        return iter((_Anything(), _Anything()))


def __getattr__(name):
    return _Anything()
