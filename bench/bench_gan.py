"""Training steps/s against a naive eager loop: now ``gansweep bench`` (:mod:`gansweep.perf`).

This script runs that command with the arguments given, e.g.

    python bench/bench_gan.py --batch-size 16 --width 8 --steps 5 --device cpu
    python bench/bench_gan.py --device cuda --steps 200 --pack 4 --pack 8 --eval-samples 10000
"""

import sys

from gansweep.cli import main

if __name__ == "__main__":
    sys.argv = ["gansweep", "bench", *sys.argv[1:]]
    main()
