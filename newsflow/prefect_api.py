"""`python -m newsflow.prefect_api HOST PORT`: Prefect's API server for one run.

What `prefect server start` runs in its process (`uvicorn.run` over `create_app(final=True)`, the
public factory Prefect's own temporary server also serves), without Prefect's command line around it
(its command tree, console and welcome text: ~0.1 s). Its imports (~2 s of CPU, nearly all of the
server's start-up) run with the garbage collector off, which saves ~0.4 s of them; what they created
lives until the server exits and is then frozen out of the collector's passes. Settings come from
the environment, as for `prefect server start`.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence


def main(argv: Sequence[str]) -> None:
    host, port = argv[0], int(argv[1])
    gc.disable()
    import uvicorn
    from prefect.server.api.server import create_app
    from prefect.settings import get_current_settings

    app = create_app(final=True)
    gc.freeze()
    gc.enable()
    server = get_current_settings().server
    uvicorn.run(app, host=host, port=port, log_level=server.logging_level.lower(),
                timeout_keep_alive=server.api.keepalive_timeout)


if __name__ == "__main__":
    main(sys.argv[1:])
