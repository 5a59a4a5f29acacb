"""lib.engine: numbers: formula grammar, model matrices, PLS/PIRLS, optimizers, checks, fits, comparisons."""
