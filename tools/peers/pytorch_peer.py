"""A current PyTorch: the mirror itself, in eager mode (build/peers-convert-venv)."""

from peers.common import Runner

NAME = 'pytorch'
SETTINGS = ('the PyTorch mirror (tools/lmnet_tools/models.py) with lmnet\'s weights, eager, eval '
            'mode, under torch.inference_mode(), torch.set_num_threads(n) (intra-op threads)')
IDENTITY = 'identity'


def version():
    import torch
    return torch.__version__.split('+')[0]


def convert(case):
    return case.source


def identity(case):
    return IDENTITY


def load(path, threads):
    import torch
    from peers.export import mirror
    torch.set_num_threads(threads)
    net = torch.nn.Identity() if path == IDENTITY else mirror(path)[0]

    def run(x):
        with torch.inference_mode():
            return net(x).numpy()

    return Runner(feed=lambda image: torch.from_numpy(image.copy()), run=run)
