"""Placeholder: being written."""
def load_ticks(*a, **k): raise NotImplementedError
def order_flow_metrics(*a, **k): raise NotImplementedError
