"""Tests of gansweep.search."""
