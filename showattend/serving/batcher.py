"""Captioning for many callers at once: requests queue up, and one thread captions them in batches."""
import queue
import threading
import time

__all__ = ["CaptionBatcher"]


class _Job:
    def __init__(self, images, beam_size):
        self.images, self.beam_size = images, beam_size
        self.captions, self.error, self.done = None, None, threading.Event()


class CaptionBatcher:
    """One model's captioning, shared by many threads: what arrives together is captioned together.

    ``caption`` may be called from any number of threads (a web server's). Their images wait in a
    queue; one thread of the batcher's own takes the first, gathers whatever else arrives within
    ``wait`` seconds (up to ``max_batch`` images), and captions each beam size's images in one
    call. The model is only ever used from that thread.

    Args:
        model: a ``Captioner``.
        max_batch: the most images captioned in one call.
        wait: seconds to wait for more requests once one has arrived.

    Attributes:
        batches: captioning calls made so far.
        images: images captioned so far.

    Examples:
        >>> from showattend import Captioner, Vocabulary
        >>> from showattend.datasets import shapes
        >>> data = shapes("test", 2, image_size=32)
        >>> model = Captioner("small_vgg", Vocabulary.build(data.all_captions()), image_size=(32, 32), units=8,
        ...                   max_length=4)
        >>> batcher = CaptionBatcher(model)
        >>> len(batcher.caption(list(data.images), beam_size=2))
        2
        >>> batcher.close()
    """

    def __init__(self, model, max_batch=16, wait=0.02):
        if int(max_batch) < 1:
            raise ValueError(f"max_batch must be a positive integer, got {max_batch!r}.")
        self.model, self.max_batch, self.wait = model, int(max_batch), float(wait)
        self.batches = self.images = 0
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="caption-batcher", daemon=True)
        self._thread.start()

    def caption(self, images, beam_size=3):
        """Caption ``images`` (decoded arrays) with their attention maps and beams; waits for the answer.

        Args:
            images: a list of uint8 arrays (H, W, 3).
            beam_size: the search's beam width.

        Returns:
            A list of ``Caption``, one per image, with ``attention`` and ``beams``.

        Raises:
            ValueError: an option the model refuses (its message names the value), or a closed batcher.
        """
        if not self._thread.is_alive():
            raise ValueError("This CaptionBatcher is closed.")
        job = _Job(list(images), int(beam_size))
        self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.captions

    def close(self):
        """Stop the batcher's thread once the requests already queued are answered."""
        self._queue.put(None)
        self._thread.join()

    def _serve(self):
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs, count, deadline, closing = [job], len(job.images), time.monotonic() + self.wait, False
            while count < self.max_batch:
                try:
                    more = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    closing = True
                    break
                jobs.append(more)
                count += len(more.images)
            for beam_size in dict.fromkeys(j.beam_size for j in jobs):
                self._run([j for j in jobs if j.beam_size == beam_size], beam_size)
            if closing:
                return

    def _run(self, jobs, beam_size):
        images = [image for job in jobs for image in job.images]
        try:
            captions = self.model.caption(images, beam_size=beam_size, return_attention=True, return_beams=True,
                                          batch_size=self.max_batch)
        except Exception as error:  # the callers get it (a bad option); the batcher keeps serving
            for job in jobs:
                job.error = error
                job.done.set()
            return
        self.batches, self.images = self.batches + 1, self.images + len(images)
        first = 0
        for job in jobs:
            job.captions = captions[first:first + len(job.images)]
            first += len(job.images)
            job.done.set()
