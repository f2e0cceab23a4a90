"""Efficiency of any speech encoder: parameters, MACs, real-time factor and peak memory (`dpbench efficiency`)."""
