"""The benchmark tables of the docs: one ``@renders(NAME)`` function per ``{{ table: NAME }}``.

NAME is the stem of ``benchmarks/NAME.json``, optionally with a ``.view`` suffix for a second table
from the same file. Each function takes the parsed JSON and returns Markdown; ``benchmark_tables.table``
adds the line with the machine, the date and the command. Where a file holds several seeds or runs,
a cell shows ``mean (min–max)`` over them, never one run alone.
"""
from docsite.benchmark_tables import markdown_table, renders, spread, summarize


def _grid(shape):
    return "×".join(map(str, shape)) if shape else ""


def _seeds(seeds):
    return ", ".join(map(str, seeds))


def _per_seed(runs, seeds):
    """``(seed, run)`` pairs of runs kept as a list in seed order or as a dict keyed by the seed."""
    return [(seed, runs[str(seed)] if isinstance(runs, dict) else run) for seed, run in zip(seeds, runs)]


# --- benchmarks/demo_seeds.json -------------------------------------------------------------------

DEMO_METRICS = [("semantic_f1", "semantic F1", ".3f"), ("BLEU-4", "BLEU-4", ".3f"), ("METEOR", "METEOR", ".3f"),
                ("CIDEr-D", "CIDEr-D", ".2f"), ("attention_correctness", "attention correctness", ".3f"),
                ("uniform_baseline", "uniform attention", ".3f"), ("train_seconds", "training (s)", ".0f")]


@renders("demo_seeds")
def demo_seeds(data):
    header = ["attention"] + [title for _, title, _ in DEMO_METRICS] + ["epoch kept"]
    rows = []
    for variant, summary in data["summary"].items():
        epochs = ", ".join(str(run["best_epoch"]) for _, run in _per_seed(data["runs"][variant], data["seeds"]))
        rows.append([variant] + [spread(summary[key], spec) for key, _, spec in DEMO_METRICS] + [epochs])
    return markdown_table(header, rows) + (f"\n\nMean (min–max) over seeds {_seeds(data['seeds'])}; "
                                           "the epoch kept is listed per seed.")


@renders("demo_seeds.runs")
def demo_seeds_runs(data):
    header = ["attention", "seed"] + [title for _, title, _ in DEMO_METRICS] + ["epoch kept"]
    rows = [[variant, seed] + [format(run[key], spec) for key, _, spec in DEMO_METRICS] + [run["best_epoch"]]
            for variant, runs in data["runs"].items() for seed, run in _per_seed(runs, data["seeds"])]
    return markdown_table(header, rows)


# --- benchmarks/ablation.json ---------------------------------------------------------------------

ABLATION_METRICS = [("semantic_f1", "semantic F1", ".3f"), ("BLEU-4", "BLEU-4", ".3f"), ("CIDEr-D", "CIDEr-D", ".2f"),
                    ("attention_correctness", "attention correctness", ".3f"),
                    ("uniform_baseline", "uniform attention", ".3f"), ("train_seconds", "training (s)", ".0f")]


@renders("ablation")
def ablation(data):
    header = ["variant", "changed from the demo model"] + [title for _, title, _ in ABLATION_METRICS]
    rows, seeds = [], []
    for variant in dict.fromkeys(run["variant"] for run in data["runs"]):
        runs = [run for run in data["runs"] if run["variant"] == variant]
        seeds = [run["seed"] for run in runs]
        options = ", ".join(f"`{key}={value!r}`" for key, value in runs[0].get("options", {}).items()) or "—"
        rows.append([variant, options] + [spread(summarize(run[key] for run in runs), spec)
                                          for key, _, spec in ABLATION_METRICS])
    return markdown_table(header, rows) + f"\n\nMean (min–max) over seeds {_seeds(seeds)}."


# --- benchmarks/paper_config.json -----------------------------------------------------------------

@renders("paper_config")
def paper_config(data):
    header = ["measured", "images/s", "the limit (images/s)", "share of the limit"]
    rows = [[row["measured"], f"{row['images_per_s']:.1f}",
             "" if row["limit_images_per_s"] is None else f"{row['limit_images_per_s']:.0f}",
             "" if row["share_of_limit"] is None else f"{row['share_of_limit']:.0%}"] for row in data["rows"]]
    work = ", ".join(f"{name} {flops / 1e9:.2f}" for name, flops in data["flops_per_image"].items())
    return markdown_table(header, rows) + (
        f"\n\nThe limit is this run's float32 large-matmul rate, {data['matmul_gflops']:.0f} GFLOP/s, divided by "
        f"the work per image in GFLOP ({work}).")


@renders("paper_config.operations")
def paper_config_operations(data):
    parts = []
    for name, operations in data["operations"].items():
        rows = [[f"`{op['op']}`", f"{op['ms_per_run']:.1f}", f"{op['calls_per_run']:.0f}"] for op in operations]
        parts.append(f"**{name[0].upper()}{name[1:]}**\n\n"
                     + markdown_table(["operation", "ms of thread time", "calls"], rows))
    if not parts:
        return "This run recorded no profile (run the benchmark with `--profile DIR`)."
    return "\n\n".join(parts)


# --- benchmarks/data_pipeline.json ----------------------------------------------------------------

@renders("data_pipeline")
def data_pipeline(data):
    rows = [[row["measured"], row["images"], f"{row['images_per_s']:,.1f}", f"{row['ms_per_image']:.2f}"]
            for row in data["rows"]]
    settings = data["settings"]
    return markdown_table(["stage", "images timed", "images/s", "ms per image"], rows) + (
        f"\n\n{settings['backbone']} at {_grid(settings['image_size'])}, batches of {settings['batch_size']} "
        f"captions of {settings['words']} words, vocabulary {settings['vocabulary']:,}.")


# --- benchmarks/backbones.json --------------------------------------------------------------------

@renders("backbones")
def backbones(data):
    header = ["backbone", "family", "parameters", "grid at 224", "images/s at 224", "grid at 64", "images/s at 64",
              "ImageNet weights"]
    rows = [[f"`{row['name']}`", row["family"], f"{row['parameters'] / 1e6:.2f} M", _grid(row["grid_224"]),
             f"{row['images_per_s_224']:.1f}", _grid(row.get("grid_64")),
             f"{row['images_per_s_64']:.1f}" if "images_per_s_64" in row else "",
             "yes" if row["imagenet_weights"] else ""] for row in data["backbones"]]
    return markdown_table(header, rows) + f"\n\nForward pass only, batches of {data['batch']} images."


# --- benchmarks/encoders.json ---------------------------------------------------------------------

@renders("encoders")
def encoders(data):
    header = ["encoder", "built with", "parameters", "grid", "channels", "images/s (runs)", "cache bytes per image"]
    rows = [[row["name"], row["source"], f"{row['parameters'] / 1e6:.1f} M", _grid(row["grid"]), str(row["channels"]),
             f"{row['images_per_s']:.1f} ({', '.join(f'{r:.1f}' for r in row['images_per_s_runs'])})",
             f"{row['cache_bytes_per_image']:,}"] for row in data["encoders"]]
    return markdown_table(header, rows) + (f"\n\nForward pass at {data['image_size']} px, random weights, batches of "
                                           f"{data['batch']}; images/s is the median of {data['repeats']} runs of "
                                           f"{data['seconds']:g} s. keras-hub {data['keras_hub']}.")


@renders("multi_worker")
def multi_worker(data):
    header = ["workers (1 thread each)", "global batch", "step s", "images/s", "all-reduce s", "all-reduce share"]
    rows = []
    for count, runs in data["runs"].items():
        shared = int(count) > 1
        def cell(key, spec):
            return spread(summarize([r[key] for r in runs]), spec)

        rows.append([count, str(runs[0]["global_batch"]), cell("step_seconds", ".2f"), cell("images_per_s", ".1f"),
                     cell("all_reduce_seconds", ".3f") if shared else "–",
                     cell("all_reduce_share", ".0%") if shared else "–"])
    return markdown_table(header, rows) + (
        f"\n\nmean (min–max) over {data['repeats']} runs, each in fresh processes on 127.0.0.1; a step is the median "
        f"of {data['steps']} after {data['warmup_steps']} warm-up steps. Gradients: "
        f"{data['trainable_parameters'] / 1e6:.1f} M parameters, {data['gradient_bytes'] / 1e6:.0f} MB a step.")


# --- benchmarks/viewer_load.json ------------------------------------------------------------------

@renders("viewer_load")
def viewer_load(data):
    runs = data["runs"]

    def cell(key, spec):
        return spread(summarize([run[key] for run in runs]), spec)

    header = ["clients", "requests", "errors", "p50 s", "p90 s", "p99 s", "requests/s", "images per batch"]
    per_batch = spread(summarize([run["images"] / run["batches"] for run in runs]), ".1f")
    rows = [[str(data["clients"]), str(data["requests"]), str(sum(run["errors"] for run in runs)),
             cell("p50", ".2f"), cell("p90", ".2f"), cell("p99", ".2f"), cell("requests_per_s", ".1f"), per_batch]]
    return markdown_table(header, rows) + (
        f"\n\nmean (min–max) over {data['repeats']} runs, each against a fresh `showattend serve` of "
        f"{data['model']} on 127.0.0.1; one 64×64 image a request, beam {data['beam']}; errors are summed over "
        "the runs. A latency runs from sending the request to reading the whole answer (the caption, a map per "
        "word, the beams).")


# --- benchmarks/backbone_comparison.json ----------------------------------------------------------

@renders("backbone_comparison")
def backbone_comparison(data):
    settings, rows = data["settings"], []
    middle = settings["epochs"] // 2
    for story, runs in data["stories"].items():
        for run in runs:
            at = {point["epoch"]: point["val_accuracy"] for point in run["curve"]}
            rows.append([story, run["name"], f"{run['parameters']:,}", f"{at[middle]:.3f}",
                         f"{run['final_val_accuracy']:.3f}", f"{run['best_val_accuracy']:.3f}"])
    header = ["story", "run", "parameters", f"val accuracy after {middle} epochs",
              f"after {settings['epochs']}", "best epoch's"]
    return markdown_table(header, rows) + f"\n\nOne run each (seed {settings['seed']})."


# --- benchmarks/tuning.json -----------------------------------------------------------------------

TUNING_SUMMARY = [("trials_per_hour", "trials per hour (wall time)", ".0f"),
                  ("trials_per_hour_of_training", "trials per hour of training epochs", ".0f"),
                  ("best_val_bleu4", "best val BLEU-4 of the search", ".3f"),
                  ("default_val_bleu4", "the default configuration's val BLEU-4", ".3f"),
                  ("best_minus_default", "best − default", ".3f")]


@renders("tuning")
def tuning(data):
    rows = [[title] + [format(data["summary"][key][part], spec) for part in ("min", "mean", "max")]
            for key, title, spec in TUNING_SUMMARY if key in data["summary"]]
    return markdown_table(["over the seeds", "min", "mean", "max"], rows) + f"\n\nSeeds {_seeds(data['seeds'])}."


@renders("tuning.runs")
def tuning_runs(data):
    header = ["seed", "trials", "epochs", "wall time (min)", "best val BLEU-4", "best trial", "default's val BLEU-4"]
    rows = []
    for seed, run in _per_seed(data["runs"], data["seeds"]):
        best = run["best"]
        trial = (f"{best.get('backbone')}, lr {best.get('learning_rate', float('nan')):.4f}, dropout "
                 f"{best.get('dropout')}, `{best.get('cell')}`, `{best.get('attention_score')}` score, "
                 f"epoch {best.get('best_epoch')}")
        wall = "" if run["wall_seconds"] is None else f"{run['wall_seconds'] / 60:.1f}"
        rows.append([seed, run["trials"], run["epochs"], wall, f"{run['best_val_bleu4']:.3f}", trial,
                     f"{run['default_val_bleu4']:.3f}"])
    return markdown_table(header, rows)


@renders("tuning.feature_cache")
def tuning_feature_cache(data):
    cache = data["feature_cache"]
    rows = [[cache["images"], _grid(cache["image_size"]), _grid(cache["grid"]), f"{cache['epoch_seconds_images']:.1f}",
             f"{cache['epoch_seconds_cache']:.1f}", f"{cache['speedup']:.1f}×",
             f"{cache['cache_build_and_setup_seconds']:.0f}"]]
    header = ["training images", "image size", "grid", "s per epoch, fed images", "s per epoch, from the cache",
              "speed-up", "building the cache and the trial, once (s)"]
    return markdown_table(header, rows)


# --- benchmarks/decoders.json ---------------------------------------------------------------------

DECODER_METRICS = [("semantic_f1", "semantic F1", ".3f"), ("BLEU-4", "BLEU-4", ".3f"), ("CIDEr-D", "CIDEr-D", ".2f"),
                   ("attention_correctness", "attention correctness", ".3f"),
                   ("uniform_baseline", "uniform attention", ".3f"), ("train_seconds", "training (s)", ".0f")]


def _decoders_quality(part, extra=()):
    """One row per decoder of a quality part (demo, small, equal_time): mean (min–max) over its seeds."""
    header = ["decoder"] + [title for _, title, _ in (*DECODER_METRICS, *extra)]
    rows, seeds = [], []
    for name in dict.fromkeys(run["decoder"] for run in part["runs"]):
        runs = [run for run in part["runs"] if run["decoder"] == name]
        seeds = [run["seed"] for run in runs]
        rows.append([name] + [spread(summarize(run[key] for run in runs), spec)
                              for key, _, spec in (*DECODER_METRICS, *extra)])
    return markdown_table(header, rows) + f"\n\nMean (min–max) over seeds {_seeds(seeds)}."


@renders("decoders.demo")
def decoders_demo(data):
    return _decoders_quality(data["demo"], [("parameters", "parameters", ",.0f")])


@renders("decoders.offsets")
def decoders_offsets(data):
    header = ["decoder", "seed", "words", "Δx (px), median (25–75 %)", "Δy (px), median (25–75 %)"]
    rows = [[run["decoder"], run["seed"], run["offsets"]["words"],
             f"{run['offsets']['dx']:.1f} ({run['offsets']['dx_q'][0]:.1f} to {run['offsets']['dx_q'][1]:.1f})",
             f"{run['offsets']['dy']:.1f} ({run['offsets']['dy_q'][0]:.1f} to {run['offsets']['dy_q'][1]:.1f})"]
            for run in data["demo"]["runs"] if run["offsets"]["words"]]
    return markdown_table(header, rows)


def _offset(offsets):
    return f"{offsets['dx']:+.1f}, {offsets['dy']:+.1f}"


@renders("decoders.mean_map")
def decoders_mean_map(data):
    header = ["decoder", "seed", "last block: Δx, Δy (px)", "last block: attention correctness",
              "all blocks: Δx, Δy (px)", "all blocks: attention correctness"]
    rows = [[run["decoder"], run["seed"], _offset(run["offsets"]), f"{run['attention_correctness']:.3f}",
             _offset(run["mean_map"]["offsets"]), f"{run['mean_map']['attention_correctness']:.3f}"]
            for run in data["demo"]["runs"] if "mean_map" in run]
    return markdown_table(header, rows) + "\n\nMedian offsets, as in the table above; the same models and captions' maps."


@renders("decoders.small")
def decoders_small(data):
    return _decoders_quality(data["small"])


@renders("decoders.equal_time")
def decoders_equal_time(data):
    return _decoders_quality(data["equal_time"], [("epochs", "epochs planned", ".0f")]) + (
        f" Each decoder had {data['equal_time']['settings']['seconds']:.0f} s of training, the soft LSTM's mean "
        "time at the small budget.")


@renders("decoders.paper")
def decoders_paper(data):
    part = data["paper"]
    header = ["decoder", "parameters", "training images/s (share)", "beam 1", "beam 3", "beam 5",
              "GFLOP per image: training / beam 1 / 3 / 5"]
    rows = []
    for run in part["runs"]:
        beams = [f"{run[f'beam{b}_images_per_s']:.1f} ({run[f'limit_share_beam{b}']:.0%})" for b in (1, 3, 5)]
        work = " / ".join(f"{run[key] / 1e9:.2f}" for key in ("work_training", "work_beam1", "work_beam3",
                                                                "work_beam5"))
        rows.append([run["decoder"], f"{run['parameters'] / 1e6:.1f} M",
                     f"{run['training_images_per_s']:.1f} ({run['limit_share_training']:.0%})", *beams, work])
    return markdown_table(header, rows) + (
        f"\n\nIn brackets: the share of this run's limit, its float32 large-matmul rate "
        f"({part['matmul_gflops']:.0f} GFLOP/s) divided by the decoder's own work per image.")


@renders("decoders.lengths")
def decoders_lengths(data):
    runs = data["paper"]["runs"]
    lengths = list(runs[0]["step_seconds"])
    header = ["decoder"] + [f"{words} words (ms)" for words in lengths] + [f"{lengths[-1]} ÷ {lengths[0]} words"]
    rows = [[run["decoder"]] + [f"{1000 * run['step_seconds'][w]:.0f}" for w in lengths]
            + [f"{run['step_seconds'][lengths[-1]] / run['step_seconds'][lengths[0]]:.2f}×"] for run in runs]
    return markdown_table(header, rows) + "\n\nThe median training step of 32 captions, at the paper configuration."
