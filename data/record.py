"""``python -m data.record EXCHANGE SYMBOL... --out DIR``: record an exchange's streams (:mod:`data.live.record`)."""
import sys

from data.live.record import main

if __name__ == "__main__":
    sys.exit(main())
