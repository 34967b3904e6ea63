"""Small annotation trees for the dataset readers, written with PIL into a test's tmp_path."""
import importlib.util
import io
import json
import pathlib

from PIL import Image

from showattend.datasets import coco, flickr, folder, karpathy


def jpeg_bytes(colour=(200, 30, 30), size=(8, 6)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


JPEG = jpeg_bytes()


def write_images(folder, names):
    """Tiny JPEGs at ``folder/name`` (sub-folders made as needed); returns their paths."""
    paths = []
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(JPEG)
        paths.append(path)
    return paths


def write_json(path, data):
    path.write_text(json.dumps(data, indent=1))
    return path


def coco_tree(root, images_without_captions=0, split="train2014"):
    """``root/<split>`` with 3 captioned images (+ uncaptioned ones) and ``root/captions_<split>.json``.

    Image ids 11, 12, 13 (21, 22, 23 for val2014) have 2, 1 and 3 captions; their annotations are
    interleaved.
    """
    first = 21 if split == "val2014" else 11
    names = {first + k: f"COCO_{split}_{first + k:012d}.jpg" for k in range(3)}
    names.update({100 + k: f"COCO_{split}_{100 + k:012d}.jpg" for k in range(images_without_captions)})
    write_images(root / split, names.values())
    order = [(0, "A cat on a mat."), (2, "x"), (1, "Two dogs."), (0, 'a cat sits, "quietly"'), (2, "y"), (2, "z")]
    data = {"info": {}, "images": [{"id": k, "file_name": v, "height": 6, "width": 8} for k, v in names.items()],
            "annotations": [{"id": 1000 + i, "image_id": first + k, "caption": c} for i, (k, c) in enumerate(order)]}
    return write_json(root / f"captions_{split}.json", data)


def karpathy_records(with_filepath=True):
    """Records of a Karpathy split file: 2 train, 1 val, 1 test, 1 restval image."""
    records = []
    for i, split in enumerate(["train", "train", "val", "test", "restval"]):
        record = {"filename": f"img{i}.jpg", "split": split, "imgid": i, "sentids": [2 * i, 2 * i + 1],
                  "sentences": [{"raw": f"Image {i}, first.", "tokens": ["image", str(i), "first"], "imgid": i},
                                {"tokens": ["image", str(i), "second"], "imgid": i},  # a copy with no raw
                                {"raw": f"Image {i}: third!", "imgid": i}]}  # … or no tokens
        if with_filepath:
            record.update(filepath="train2014" if i % 2 == 0 else "val2014", cocoid=500 + i)
        records.append(record)
    return records


def karpathy_tree(root, with_filepath=True, records=None):
    records = karpathy_records(with_filepath) if records is None else records
    write_images(root, [f"{r.get('filepath', '')}/{r['filename']}".lstrip("/") for r in records])
    return write_json(root / "dataset.json", {"images": records, "dataset": "coco" if with_filepath else "flickr8k"})


def tfds_coco_karpathy_tree(root):
    """A copy of tensorflow-datasets' test ``dataset_coco.json`` (8 records) with its 7 images in ``root``.

    Built as that file is (tensorflow/datasets, testing/test_data/fake_examples/coco/karpathy_and_li_splits):
    no ``filepath``, ``cocoid`` or ``imgid`` (the id is the file name), sentences with only ``raw``
    and ``sentid``: 5 train images with captions 1–10, 1 val (11, 12), and
    ``COCO_val2014_000000000002.jpg`` in both restval (13, 14) and test (15, 16).
    """
    listed = [(f"COCO_train2014_{i:012d}.jpg", "train") for i in range(1, 6)]
    listed += [("COCO_val2014_000000000001.jpg", "val"), ("COCO_val2014_000000000002.jpg", "restval"),
               ("COCO_val2014_000000000002.jpg", "test")]
    records = [{"filename": name, "split": split,
                "sentences": [{"raw": f"caption {2 * i + k}", "sentid": 2 * i + k} for k in (1, 2)]}
               for i, (name, split) in enumerate(listed)]
    write_images(root, dict.fromkeys(name for name, _ in listed))
    return write_json(root / "dataset_coco.json", {"images": records})  # no "dataset" key either


def flickr_tree(root, lists=True):
    """A Flickr8k-style folder: 5 images with 2 captions each (and a bogus token for a 6th, absent image)."""
    names = [f"{1000 + i}_abc.jpg" for i in range(5)]
    write_images(root / "Flicker8k_Dataset", names)
    lines = [f"{name}#{n}\tA caption {n} of {name}, with a comma ." for name in names for n in range(2)]
    token = root / "Flickr8k.token.txt"
    token.write_text("\n".join(lines) + "\n")
    if lists:
        for split, chosen in (("train", names[:3]), ("dev", names[3:4]), ("test", names[4:])):
            (root / f"Flickr_8k.{split}Images.txt").write_text("\n".join(chosen) + "\n")
    return token, names


# Builders for the bad-annotation cases: each returns a call that reads the damaged file.

def edited_coco(tmp_path, edit):
    path = coco_tree(tmp_path)
    data = json.loads(path.read_text())
    edit(data)
    write_json(path, data)
    return lambda: coco(path, tmp_path / "train2014")


def edited_karpathy(tmp_path, edit, split="train"):
    path = karpathy_tree(tmp_path)
    data = json.loads(path.read_text())
    edit(data)
    write_json(path, data)
    return lambda: karpathy(path, tmp_path, split=split)


def text_file(tmp_path, name, text, read):
    path = tmp_path / name
    write_images(tmp_path, ["a.jpg", "b.jpg"])
    path.write_text(text)
    return lambda: read(path, tmp_path)


def drop(key, where):
    return lambda data: where(data).pop(key)


def put(value, where, key):
    return lambda data: where(data).__setitem__(key, value)


def write_text(path, text):
    path.write_text(text)
    return path


def in_coco(edit):
    return lambda t: edited_coco(t, edit)


def in_karpathy(edit, split="train"):
    return lambda t: edited_karpathy(t, edit, split)


def in_text(name, content, read):
    return lambda t: text_file(t, name, content, read)


def as_folder(path, image_dir):
    return folder(image_dir, path)


def with_list(path, image_dir):
    return flickr(path, image_dir, split_file=write_text(image_dir / "list.txt", "x.jpg\ny.jpg\n"))


def not_utf8(path, image_dir):
    path.write_bytes(b"image,caption\na.jpg,caf\xe9\n")
    return folder(image_dir, path)


def shapes_folder(root, count, seed, captions=4):
    """``count`` shapes images as PNG files in ``root/photos`` and ``root/captions.csv`` (one row per caption,
    the first ``captions`` of each image); returns the `--data` and `--images` arguments for them."""
    import csv

    from showattend.datasets import shapes

    data = shapes("train", count, seed=seed)
    width = max(2, len(str(count - 1)))  # 00.png … 39.png; 0000.png … 1199.png
    (root / "photos").mkdir(parents=True)
    with open(root / "captions.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "caption"])
        for i, (image, refs) in enumerate(zip(data.images, data.captions)):
            Image.fromarray(image).save(root / "photos" / f"{i:0{width}d}.png")
            writer.writerows([f"{i:0{width}d}.png", caption] for caption in refs[:captions])
    return ["--data", f"folder:{root / 'captions.csv'}", "--images", str(root / "photos")]


def viewer_load_module():
    """``benchmarks/viewer_load.py`` as a module: the server's start and stop, multipart bodies, the load test."""
    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "viewer_load.py"
    spec = importlib.util.spec_from_file_location("viewer_load", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
