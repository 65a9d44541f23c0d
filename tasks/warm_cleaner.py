"""Imported by the cleaning helpers' fork server (tasks/guard.py) before it forks any helper.

Importing this module loads and warms the whole cleaning stage (trafilatura, the date parser, the
language model, the analysis), so every helper forked afterwards starts warm and shares those pages
with the server instead of loading its own copy. What is alive then lives as long as the server and
its helpers, so it is frozen out of the garbage collector's passes before any fork, as the `gc.freeze`
documentation advises for a process that forks workers: the helpers' collections then neither walk
those objects nor copy the pages they share.
"""

import gc

from tasks.guard import _warm_cleaner

_warm_cleaner()
gc.freeze()
