"""1-D axis operators, Kronecker sums, the flux form, the compact scheme, compiled kernels."""
