"""``python -m data.replay CAPTURE... --port 8765 --speed 1|10|max``: replay captures (:mod:`data.live.replay`)."""
import sys

from data.live.replay import main

if __name__ == "__main__":
    sys.exit(main())
