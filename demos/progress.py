"""Progress lines for the demos: ``[step/total mm:ss] message``, flushed at once."""

import sys
import time


class Progress:
    """Prints numbered, timed steps so a user sees a long demo moving.

    Args:
        total: number of steps the demo will announce.
        stream: where to print (default ``sys.stdout``, looked up at each print).
    """

    def __init__(self, total, stream=None):
        self.total, self.stream, self.done = total, stream, 0
        self.start = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.start

    def step(self, message):
        """Announce the next step."""
        self.done += 1
        self.say(f"[{self.done}/{self.total} {self._clock()}] {message}")

    def say(self, message):
        """Print a line without counting a step."""
        print(message, file=self.stream or sys.stdout, flush=True)

    def _clock(self):
        minutes, seconds = divmod(int(self.elapsed()), 60)
        return f"{minutes:02d}:{seconds:02d}"
