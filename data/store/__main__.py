"""``python -m data.store import|info``: the tick store's command line (:func:`data.store.dataset.main`)."""
import sys

from data.store.dataset import main

sys.exit(main())
