"""Performance measurement: ``gansweep bench`` and the naive eager baseline it is measured against.

:mod:`.naive` is the baseline (a plain PyTorch loop, outside the trainer), :mod:`.variants` what
can be timed (the baseline, the trainer, each speed-up switched), :mod:`.pack` several trainings
at once on one device, :mod:`.bench` one run of all of it into rows, a table and a CSV.
"""
