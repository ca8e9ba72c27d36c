"""Tests of gansweep.gan."""
