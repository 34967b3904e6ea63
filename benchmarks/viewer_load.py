"""`showattend serve` under load: 4 clients send 50 caption requests in all, one image each.

    python benchmarks/viewer_load.py [--model runs/demo/model.keras] [--out benchmarks/viewer_load.json]
                                     [--clients 4] [--requests 50] [--repeats 3]

The server is the `showattend serve` command in its own process, on a free port of 127.0.0.1; the
clients are threads of this process, each sending its share of the requests one after the other
(multipart, as the page sends them: a 64×64 shapes PNG, beam 3), so that up to ``clients`` requests
wait at once and the server's batcher gathers them. A warm-up of 4 requests per client comes first
(the search is traced for each batch size the batcher gathers). A request's latency runs from sending it to
reading the whole answer (the view's rows: the caption, a JPEG map per word and the beams). Without
``--model`` the model is the demo's architecture, untrained (the time does not depend on the weights).

Writes JSON (latency percentiles, requests/s, errors, and the server's batches) and prints the docs
page's Markdown table.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from record import write_result  # noqa: E402  (benchmarks/record.py: the JSON with the machine and the date)


def multipart(fields, files):
    """A multipart/form-data body and its boundary, as the page's form sends it.

    Args:
        fields: {name: value} of the form's text fields.
        files: (file name, bytes) pairs, sent as the ``images`` field.

    Returns:
        (body bytes, boundary string).
    """
    boundary = "showattend-load-test"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="images"; filename="{name}"\r\n'
              "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n" for name, content in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def load_test(url, image_bytes, clients=4, requests=50, beam=3, timeout=300):
    """Send ``requests`` caption requests to the server at ``url`` from ``clients`` threads at once.

    Args:
        url: the server's address, e.g. ``http://127.0.0.1:8000/``.
        image_bytes: one image file's bytes, sent with every request.
        clients: threads sending at once.
        requests: requests in all, dealt among the clients.
        beam: the beam size asked for.
        timeout: seconds a request may take.

    Returns:
        A dict: ``latencies`` (seconds, in the order they ended), ``errors`` (messages), ``seconds``
        (wall time) and the percentiles ``p50``, ``p90``, ``p99`` and ``max``.
    """
    body, boundary = multipart({"beam": str(beam), "model": "0"}, [("shapes.png", image_bytes)])
    latencies, errors, lock = [], [], threading.Lock()

    def client(count):
        for _ in range(count):
            request = urllib.request.Request(url + "caption", data=body,
                                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
            started = time.perf_counter()
            try:
                answer = json.loads(urllib.request.urlopen(request, timeout=timeout).read())
                ok = answer.get("html", "").count('class="view"') == 1 and not answer.get("errors")
                problem = None if ok else f"an answer without one view: {str(answer)[:200]}"
            except (urllib.error.URLError, OSError, ValueError) as error:
                problem = repr(error)
            with lock:
                latencies.append(time.perf_counter() - started)
                if problem:
                    errors.append(problem)

    shares = [requests // clients + (i < requests % clients) for i in range(clients)]
    threads = [threading.Thread(target=client, args=(n,)) for n in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - started,
            "p50": percentile(ordered, 50), "p90": percentile(ordered, 90), "p99": percentile(ordered, 99),
            "max": ordered[-1] if ordered else None}


def percentile(ordered, q):
    """The ``q``-th percentile of sorted values, linearly interpolated (NumPy's default)."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def start_server(models, extra=()):
    """`showattend serve MODEL... --port 0` as a process (``models``: a path or a list); returns
    (process, url) once it listens."""
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    models = [models] if isinstance(models, (str, os.PathLike)) else list(models)
    process = subprocess.Popen([sys.executable, "-m", "showattend.cli", "serve", *map(str, models), "--port", "0",
                                *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    found = re.search(r"at (http://[\d.]+:\d+/)", line)
    if not found:
        process.kill()
        raise RuntimeError(f"showattend serve did not start: {line}{process.stderr.read()[-2000:]}")
    return process, found.group(1)


def stop_server(process):
    """Stop a `showattend serve` process with Ctrl-C (SIGINT) and wait for it."""
    import signal

    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)


def shapes_png():
    """A 64×64 shapes test image as PNG bytes."""
    import io

    from PIL import Image

    from showattend.datasets import shapes

    buffer = io.BytesIO()
    Image.fromarray(shapes("test", 1, seed=7).images[0]).save(buffer, "PNG")
    return buffer.getvalue()


def demo_architecture_model(folder):
    """The demo's architecture, untrained, saved in ``folder``; its path."""
    from showattend import Captioner, Vocabulary
    from showattend.datasets import shapes
    from showattend.demo import DEMO_MODEL

    data = shapes("train", 256, seed=0)
    path = os.path.join(folder, "model.keras")
    Captioner(vocabulary=Vocabulary.build(data.all_captions(), min_count=1), seed=0, **DEMO_MODEL).save(path)
    return path


def measure(url, image_bytes, clients=4, requests=50):
    """One run against the server at ``url``: a warm-up of 4 requests per client, then the load.

    Args:
        url: the server's address.
        image_bytes: one image file's bytes, sent with every request.
        clients: threads sending at once.
        requests: requests in all.

    Returns:
        The run as the JSON's ``runs`` hold it: the percentiles, ``seconds``, ``errors`` (a count)
        and the first error messages, ``requests_per_s``, and the server's ``batches`` and
        ``images`` during the load.
    """
    def health():
        return json.loads(urllib.request.urlopen(url + "health", timeout=30).read())

    load_test(url, image_bytes, clients=clients, requests=4 * clients)  # traces the search for 1, 2, 4 rows
    before = health()
    result = load_test(url, image_bytes, clients=clients, requests=requests)
    after = health()
    return {**{key: result[key] for key in ("p50", "p90", "p99", "max", "seconds")},
            "errors": len(result["errors"]), "error_messages": result["errors"][:5],
            "requests_per_s": requests / result["seconds"], "batches": after["batches"] - before["batches"],
            "images": after["images"] - before["images"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a saved model (default: the demo's architecture, untrained)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "viewer_load.json"))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from docsite.benchmark_renderers import viewer_load as table

    with tempfile.TemporaryDirectory() as folder:
        model = args.model or demo_architecture_model(folder)
        image, runs = shapes_png(), []
        for repeat in range(args.repeats):
            process, url = start_server(model)
            try:
                runs.append(measure(url, image, args.clients, args.requests))
            finally:
                stop_server(process)
            run = runs[-1]
            print(f"run {repeat + 1}: p50 {run['p50']:.3f} s, p90 {run['p90']:.3f} s, p99 {run['p99']:.3f} s, "
                  f"{run['requests_per_s']:.1f} requests/s, {run['errors']} errors", flush=True)
    data = {"clients": args.clients, "requests": args.requests, "repeats": args.repeats, "beam": 3,
            "model": "the demo's architecture" if not args.model else os.path.basename(args.model), "runs": runs}
    write_result(args.out, data)
    print(table(data))


if __name__ == "__main__":
    main()
