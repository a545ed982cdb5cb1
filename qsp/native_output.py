"""Keeping what compiled libraries print out of the data a command writes on standard output."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

__all__ = ["native_output_contained"]


@contextlib.contextmanager
def native_output_contained(silence_stderr: bool = True):
    """Keep what compiled libraries print (libRoadRunner's logger and CVODE write to file descriptors
    1 and 2) out of the data the CLI writes on standard output.

    Python's ``sys.stdout`` and ``sys.stderr`` keep reaching the original streams; file descriptor 1
    (and 2, when ``silence_stderr``) goes to a scratch file for the duration, and so do those of
    worker processes started meanwhile. Without ``silence_stderr``, descriptor 1 goes to stderr.
    """
    try:
        saved_out, saved_err = os.dup(1), os.dup(2)
    except OSError:
        yield
        return
    original_out, original_err = sys.stdout, sys.stderr
    with tempfile.TemporaryFile() as scratch:
        original_out.flush()
        original_err.flush()
        sink = scratch.fileno() if silence_stderr else saved_err
        os.dup2(sink, 1)
        if silence_stderr:
            os.dup2(sink, 2)
        sys.stdout = _rebound(original_out, 1, saved_out)
        sys.stderr = _rebound(original_err, 2, saved_err)
        try:
            yield
        finally:
            for stream, original in ((sys.stdout, original_out), (sys.stderr, original_err)):
                if stream is not original:
                    try:
                        stream.flush()
                        stream.close()
                    except OSError:  # a closed pipe on the reader's side
                        pass
            sys.stdout, sys.stderr = original_out, original_err
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)


def _rebound(stream, fd: int, saved: int):
    """A stream on the saved copy of ``fd`` when ``stream`` writes to ``fd``; ``stream`` itself otherwise
    (a stream that is not a file descriptor, e.g. a test's capture, never sees native output)."""
    try:
        if stream.fileno() != fd:
            return stream
    except (AttributeError, OSError, ValueError):
        return stream
    return os.fdopen(os.dup(saved), "w", buffering=1, encoding=getattr(stream, "encoding", None))
