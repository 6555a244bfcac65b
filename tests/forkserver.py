"""A fork server for `reachout serve` in tests: it imports Reachout once, then forks a server process
for each request, which skips the interpreter's start and the imports (most of a start's time).

Protocol, one JSON line each way: {"argv": [...], "env": {...}, "log": path} in, {"pid": n} out.
Each server is forked twice over, so that its parent exits at once and it is handed to the test
process, which made itself a child subreaper (support.forked_server): the test process waits for it
and reads its exit status as for any child. Run as `python tests/forkserver.py`; it ends when its
input closes.
"""
from __future__ import annotations

import json
import logging
import os
import sys


def serve_in_child(request: dict) -> None:
    """In the forked server process: becomes `reachout serve ...` with its output to the log."""
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    os.environ.clear()
    os.environ.update(request["env"])
    code = 0
    try:
        from reachout.cli import app

        app(args=request["argv"], prog_name="reachout")
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # as the interpreter would: the traceback, then exit status 1
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def main() -> None:
    # What every server imports, imported once here.
    import reachout.cli  # noqa: F401
    import reachout.server  # noqa: F401

    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        reader, writer = os.pipe()
        middle = os.fork()
        if middle == 0:  # the intermediate: forks the server, tells its pid, exits
            os.close(reader)
            server = os.fork()
            if server == 0:
                os.close(writer)
                serve_in_child(request)
            os.write(writer, str(server).encode())
            os._exit(0)
        os.close(writer)
        with os.fdopen(reader) as pipe:
            pid = int(pipe.read())
        os.waitpid(middle, 0)  # once it is gone, the server is the test process's child
        replies.write(json.dumps({"pid": pid}) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
