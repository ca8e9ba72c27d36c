"""The synthetic study's axes, shared by conftest.py and the tests (a module of its own: another
test package has a conftest too, and ``from conftest import`` would find the wrong one)."""

METRICS = ["fd", "modes"]
HPS = ["lr", "beta1", "beta2", "n_disc", "penalty_weight"]
DATASETS = ["digits", "ring8"]
PENALTIES = ["none", "gp"]
NORMS = ["none", "sn"]
ERROR = "RuntimeError: CUDA <out of memory> & \"boom\""
