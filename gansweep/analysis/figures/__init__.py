"""One module per figure; :data:`gansweep.analysis.plots.PLOTTERS` is their registry."""
