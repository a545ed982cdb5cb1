"""A serial ensemble backend that counts what it is asked to run (for tests of how analyses batch simulations)."""

from qsp.ensemble import SerialBackend


class CountingBackend(SerialBackend):
    """Counts ``map`` calls and the tasks they carry; runs them serially."""

    def __init__(self):
        self.calls = 0
        self.tasks = 0

    def map(self, fn, job, chunks):
        self.calls += 1
        for chunk in chunks:
            self.tasks += len(chunk.task)
            yield fn(job, chunk)
