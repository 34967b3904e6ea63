"""Modern encoders beside the paper's: forward images/s at 224 px, grid, channels and feature-cache bytes.

    python benchmarks/encoders.py [--out benchmarks/encoders.json] [--batch 8] [--seconds 5] [--repeats 3]

keras-hub encoders are built from their constructors at the published configurations (a small
ViT, ViT-S with 16-pixel patches; a DINOv2-like ViT, DINOv2-S with 14-pixel patches;
EfficientNet-B0; ResNet-50) with random weights, saved with ``save_to_preset`` into a temporary
folder with an ``ImageConverter``, and loaded through
``create_backbone("hub:FOLDER")``: the path a user's preset takes, preprocessing included. Beside
them: our own ``vgg16`` and ``resnet50``, and ConvNeXt-T from keras.applications (keras-hub 0.32
has no ConvNeXt). No weights are downloaded.

Each encoder's forward speed is the median of ``--repeats`` measurements, each a compiled call
(tf.function, no XLA) on batches of random images for ``--seconds``. The feature cache's bytes per
image are measured: 8 PNG images are cached with ``FeatureCache.build`` and the shard file's size
is divided by 8. Writes JSON and prints the docs page's Markdown table.
"""
import argparse
import os
import statistics
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import keras  # noqa: E402
import keras_hub  # noqa: E402
from PIL import Image  # noqa: E402

from backbones import images_per_second  # noqa: E402
from docsite.benchmark_renderers import encoders as table  # noqa: E402  (the docs page's table)
from cnn_backbones import create_backbone  # noqa: E402
from record import write_result  # noqa: E402
from showattend.features import FeatureCache  # noqa: E402

SIZE = 224
IMAGENET_MEAN, IMAGENET_STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
IMAGENET = {"scale": list(1 / (255 * IMAGENET_STD)), "offset": list(-IMAGENET_MEAN / IMAGENET_STD)}


def vit_s16():
    return (keras_hub.models.ViTBackbone(image_shape=(SIZE, SIZE, 3), patch_size=16, num_layers=12, num_heads=6,
                                         hidden_dim=384, mlp_dim=1536),
            keras_hub.layers.ViTImageConverter(scale=1 / 127.5, offset=-1.0))


def dinov2_s14():
    return (keras_hub.models.DINOV2Backbone(patch_size=14, num_layers=12, hidden_dim=384, num_heads=6,
                                            intermediate_dim=1536, image_shape=(SIZE, SIZE, 3)),
            keras_hub.layers.DINOV2ImageConverter(**IMAGENET))


def efficientnet_b0():
    """keras.applications' EfficientNet-B0 block arguments, as keras-hub's constructor takes them."""
    return (keras_hub.models.EfficientNetBackbone(
        stackwise_width_coefficients=[1.0] * 7, stackwise_depth_coefficients=[1.0] * 7,
        stackwise_kernel_sizes=[3, 3, 5, 3, 5, 5, 3], stackwise_num_repeats=[1, 2, 2, 3, 3, 4, 1],
        stackwise_input_filters=[32, 16, 24, 40, 80, 112, 192],
        stackwise_output_filters=[16, 24, 40, 80, 112, 192, 320], stackwise_expansion_ratios=[1, 6, 6, 6, 6, 6, 6],
        stackwise_squeeze_and_excite_ratios=[0.25] * 7, stackwise_strides=[1, 2, 2, 2, 1, 2, 1],
        stackwise_block_types=["v1"] * 7, min_depth=None, include_stem_padding=True,
        use_depth_divisor_as_min_depth=True, cap_round_filter_decrease=True, stem_conv_padding="valid",
        batch_norm_momentum=0.9, batch_norm_epsilon=1e-5, input_shape=(None, None, 3)),
        keras_hub.layers.EfficientNetImageConverter(**IMAGENET))


def resnet50_hub():
    return (keras_hub.models.ResNetBackbone(input_conv_filters=[64], input_conv_kernel_sizes=[7],
                                            stackwise_num_filters=[64, 128, 256, 512],
                                            stackwise_num_blocks=[3, 4, 6, 3], stackwise_num_strides=[1, 2, 2, 2],
                                            block_type="bottleneck_block"),
            keras_hub.layers.ResNetImageConverter(**IMAGENET))


HUB = {"ViT-S, patch 16": vit_s16, "DINOv2-S, patch 14": dinov2_s14, "EfficientNet-B0": efficientnet_b0,
       "ResNet-50 (keras-hub)": resnet50_hub}


def convnext_tiny():
    """keras.applications' ConvNeXt-T, random weights, its own preprocessing inside (images in 0..255)."""
    return keras.applications.ConvNeXtTiny(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3))


def cache_bytes_per_image(model, folder, count=8):
    """Bytes of the feature cache's shard per image, for ``count`` random PNG images."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        paths.append(os.path.join(folder, f"image_{i}.png"))
        Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)).save(paths[-1])
    cache = FeatureCache.build(os.path.join(folder, "cache"), model, paths, batch_size=count, shard_size=count,
                               verbose=0)
    shards = [f for f in os.listdir(cache.directory) if f.startswith("shard_")]
    return sum(os.path.getsize(os.path.join(cache.directory, f)) for f in shards) / count


def measure(name, source, model, batch, seconds, repeats, folder):
    model.trainable = False
    rates = [images_per_second(model, SIZE, batch, seconds) for _ in range(repeats)]
    return {"name": name, "source": source, "parameters": int(model.count_params()),
            "grid": list(model.output_shape[1:3]), "channels": int(model.output_shape[-1]),
            "images_per_s": round(statistics.median(rates), 1), "images_per_s_runs": [round(r, 1) for r in rates],
            "cache_bytes_per_image": int(round(cache_bytes_per_image(model, folder)))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "encoders.json"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as root:
        def run(name, source, model):
            folder = os.path.join(root, f"images_{len(rows)}")
            os.makedirs(folder)
            rows.append(measure(name, source, model, args.batch, args.seconds, args.repeats, folder))
            print(rows[-1], flush=True)

        for name, build in HUB.items():
            keras.utils.set_random_seed(0)
            backbone, converter = build()
            preset = os.path.join(root, name.replace("/", "_").replace(" ", "_"))
            backbone.save_to_preset(preset)
            converter.save_to_preset(preset)
            del backbone
            run(name, "keras-hub (hub:FOLDER)", create_backbone("hub:" + preset, input_shape=(SIZE, SIZE, 3)))
        run("ConvNeXt-T", "keras.applications", convnext_tiny())
        for name in ("vgg16", "resnet50"):
            run(name, "cnn_backbones", create_backbone(name, input_shape=(SIZE, SIZE, 3)))
    result = {"batch": args.batch, "seconds": args.seconds, "repeats": args.repeats, "image_size": SIZE,
              "keras_hub": keras_hub.__version__, "encoders": rows}
    write_result(args.out, result)
    print(table(result))


if __name__ == "__main__":
    main()
