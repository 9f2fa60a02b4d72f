"""Research at scale: the backtest engine, contract maths, sweeps, walk-forward and overfitting statistics."""
