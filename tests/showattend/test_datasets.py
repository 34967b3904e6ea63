"""The dataset readers (karpathy, coco, flickr, folder, tfds), load(spec) and the seeded split."""
import ast
import json
import os
import pathlib
import warnings

import numpy as np
import pytest
from fixtures import (JPEG, as_folder, coco_tree, drop, flickr_tree, in_coco, in_karpathy, in_text, karpathy_records,
                      karpathy_tree, not_utf8, put, tfds_coco_karpathy_tree, with_list, write_images)

import showattend
from showattend.data import CaptionDataset, load_image
from showattend.datasets import AnnotationError, coco, flickr, folder, karpathy, load, seeded_split, shapes, tfds


def test_karpathy_splits_paths_ids_and_raw_captions(tmp_path):
    path = karpathy_tree(tmp_path)
    train = karpathy(path, tmp_path)
    assert isinstance(train, CaptionDataset) and train.name == "coco-train"
    assert train.images == [str(tmp_path / "train2014" / "img0.jpg"), str(tmp_path / "val2014" / "img1.jpg")]
    assert train.image_ids == [500, 501]  # cocoid first
    assert train.captions[0] == ["image 0 first", "image 0 second", "Image 0: third!"]  # tokens, else raw
    assert train.on_bad_image == "error"
    assert [len(karpathy(path, tmp_path, split=s)) for s in ("val", "test", "restval")] == [1, 1, 1]
    both = karpathy(path, tmp_path, split="train+restval", on_bad_image="skip")
    assert both.image_ids == [500, 501, 504] and both.on_bad_image == "skip"
    assert len(karpathy(path, tmp_path, split="all")) == 5


def test_karpathy_without_filepath_uses_imgid_then_file_name(tmp_path):
    path = karpathy_tree(tmp_path, with_filepath=False)
    data = karpathy(path, tmp_path, split="train+val")
    assert data.images == [str(tmp_path / f"img{i}.jpg") for i in range(3)] and data.image_ids == [0, 1, 2]
    records = karpathy_records(with_filepath=False)
    for record in records:
        del record["imgid"]
    path = karpathy_tree(tmp_path, with_filepath=False, records=records)
    assert karpathy(path, tmp_path, split="test").image_ids == ["img3.jpg"]


def _quietly(read):
    """``read()``, failing on any warning (a merge note where none is due)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read()


def test_karpathy_tfds_fixture_repeats_are_looked_for_only_in_the_splits_asked_for(tmp_path):
    # tensorflow-datasets' own test dataset_coco.json: COCO_val2014_000000000002.jpg is in restval and test
    path = tfds_coco_karpathy_tree(tmp_path)
    train = _quietly(lambda: karpathy(path, tmp_path, split="train"))
    assert train.image_ids == [f"COCO_train2014_{i:012d}.jpg" for i in range(1, 6)]
    assert train.captions == [[f"caption {2 * i - 1}", f"caption {2 * i}"] for i in range(1, 6)]
    assert train.images[0] == str(tmp_path / "COCO_train2014_000000000001.jpg") and train.name == "karpathy-train"
    test = _quietly(lambda: karpathy(path, tmp_path, split="test"))
    assert test.image_ids == ["COCO_val2014_000000000002.jpg"] and test.captions == [["caption 15", "caption 16"]]
    assert _quietly(lambda: karpathy(path, tmp_path, split="restval")).captions == [["caption 13", "caption 14"]]
    assert len(_quietly(lambda: karpathy(path, tmp_path, split="val"))) == 1
    both = _quietly(lambda: karpathy(path, tmp_path, split="train+restval"))  # disjoint: nothing to merge
    assert len(both) == 6 and both.num_captions == 12 and both.image_ids[-1] == "COCO_val2014_000000000002.jpg"
    merged = (r"dataset_coco\.json': 1 image listed in more than one of the splits {}; kept once with its captions "
              r"merged\.$")
    with pytest.warns(UserWarning, match=merged.format(r"test\+restval")) as caught:
        union = karpathy(path, tmp_path, split="test+restval")
    assert len(caught) == 1
    assert union.image_ids == ["COCO_val2014_000000000002.jpg"] and len(union.images) == 1
    assert union.captions == [["caption 13", "caption 14", "caption 15", "caption 16"]]  # the file's order
    with pytest.warns(UserWarning, match=merged.format(r"train\+val\+test\+restval")):
        everything = karpathy(path, tmp_path, split="all")
    assert len(everything) == 7 and everything.num_captions == 16 and len(set(everything.images)) == 7
    assert everything.captions[-1] == union.captions[0]
    with pytest.warns(UserWarning, match=merged.format(r"test\+restval")):
        via_load = load(f"karpathy:{path}", split="test+restval", images=tmp_path)
    assert via_load.captions == union.captions


def test_karpathy_merged_captions_drop_exact_repeats_and_one_split_repeat_is_an_error(tmp_path):
    path = tfds_coco_karpathy_tree(tmp_path)
    data = json.loads(path.read_text())
    data["images"][7]["sentences"][0]["raw"] = "caption 13"  # test repeats a restval caption
    data["images"][0]["sentences"][1]["raw"] = "caption 1"  # one record with a caption twice: kept as it is
    data["images"][1]["filename"] = data["images"][2]["filename"]  # train lists one image twice
    path.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match=r"1 image listed in more than one of the splits restval\+test"):
        union = karpathy(path, tmp_path, split="restval+test")
    assert union.captions == [["caption 13", "caption 14", "caption 16"]]
    with pytest.raises(AnnotationError, match=r"dataset_coco\.json' split 'train': 1 image id repeat: "
                                              r"'COCO_train2014_000000000003\.jpg' \(2 times\)\. Each image id"):
        karpathy(path, tmp_path, split="train+val")
    assert _quietly(lambda: karpathy(path, tmp_path, split="val")).captions == [["caption 11", "caption 12"]]
    data["images"][1]["filename"] = "COCO_train2014_000000000002.jpg"
    path.write_text(json.dumps(data))
    assert _quietly(lambda: karpathy(path, tmp_path, split="train")).captions[0] == ["caption 1", "caption 1"]
    # the same id in two splits of karpathy_tree: an error only where both are asked for is not one at all
    records = karpathy_records()
    records[3]["cocoid"] = 500  # test's image has train's first id
    tree = karpathy_tree(tmp_path / "k", records=records)
    assert _quietly(lambda: karpathy(tree, tmp_path / "k", split="train")).image_ids == [500, 501]
    with pytest.warns(UserWarning, match=r"1 image listed in more than one of the splits train\+test"):
        assert karpathy(tree, tmp_path / "k", split="train+test").image_ids == [500, 501]


def test_flickr_lists_an_image_in_two_lists_once_and_a_list_repeat_is_an_error(tmp_path):
    token, names = flickr_tree(tmp_path)
    (tmp_path / "Flickr_8k.devImages.txt").write_text(f"{names[3]}\n{names[2]}\n")  # names[2] is in train too
    images = tmp_path / "Flicker8k_Dataset"
    with pytest.warns(UserWarning, match=r"Flickr8k\.token\.txt': 1 image listed in more than one of the image "
                                         r"lists .*trainImages\.txt' \+ .*devImages\.txt'; kept once"):
        data = load(f"flickr:{token}", split="train+val", images=images)
    assert data.image_ids == names[:4] and data.num_captions == 8
    assert _quietly(lambda: load(f"flickr:{token}", split="val", images=images)).image_ids == [names[3], names[2]]
    (tmp_path / "Flickr_8k.trainImages.txt").write_text(f"{names[0]}\n{names[1]}\n{names[0]}\n")
    with pytest.raises(AnnotationError, match=r"Flickr_8k\.trainImages\.txt': 1 image id repeat: '1000_abc\.jpg' "
                                              r"\(2 times\)"):
        load(f"flickr:{token}", split="train", images=images)
    assert len(_quietly(lambda: load(f"flickr:{token}", split="test", images=images))) == 1


def test_coco_groups_annotations_and_leaves_out_uncaptioned_images(tmp_path):
    path = coco_tree(tmp_path, images_without_captions=2)
    with pytest.warns(UserWarning, match=r"captions_train2014\.json.*2 images left out: no annotation"):
        data = coco(path, tmp_path / "train2014")
    assert data.image_ids == [11, 12, 13] and data.name == "coco"
    assert data.captions == [["A cat on a mat.", 'a cat sits, "quietly"'], ["Two dogs."], ["x", "y", "z"]]
    assert data.images[1] == str(tmp_path / "train2014" / "COCO_train2014_000000000012.jpg")
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in data.images)
    val = coco(coco_tree(tmp_path, split="val2014"), tmp_path / "val2014")
    assert val.image_ids == [21, 22, 23]
    assert val.images[0] == str(tmp_path / "val2014" / "COCO_val2014_000000000021.jpg")


def test_flickr_token_file_with_and_without_an_image_list(tmp_path):
    token, names = flickr_tree(tmp_path)
    everything = flickr(token, tmp_path / "Flicker8k_Dataset")
    assert everything.image_ids == names and everything.num_captions == 10
    assert everything.captions[0] == [f"A caption 0 of {names[0]}, with a comma .", f"A caption 1 of {names[0]}, "
                                      "with a comma ."]
    listed = tmp_path / "mine.txt"
    listed.write_text(f"{names[4]}\n\n{names[1]}\nnot_captioned.jpg\n")
    with pytest.warns(UserWarning, match=r"1 image left out: listed in .*mine\.txt.*not_captioned\.jpg"):
        data = flickr(token, tmp_path / "Flicker8k_Dataset", split_file=listed)
    assert data.image_ids == [names[4], names[1]]  # the list's order
    assert data.images[0] == str(tmp_path / "Flicker8k_Dataset" / names[4])


def test_folder_csv_with_commas_quotes_and_grouped_rows(tmp_path):
    write_images(tmp_path / "photos", ["a.jpg", "b/c.jpg"])
    elsewhere = write_images(tmp_path / "other", ["d.jpg"])[0]
    csv_file = tmp_path / "captions.csv"
    csv_file.write_text('image,caption\na.jpg,"a dog, running"\nb/c.jpg,"he said ""hi"""\n'
                        f'a.jpg,second for a\n{elsewhere},absolute path\n')
    data = folder(tmp_path / "photos", csv_file)
    assert data.image_ids == ["a.jpg", "b/c.jpg", str(elsewhere)]
    assert data.captions == [["a dog, running", "second for a"], ['he said "hi"'], ["absolute path"]]
    assert data.images == [str(tmp_path / "photos" / "a.jpg"), str(tmp_path / "photos" / "b" / "c.jpg"),
                           str(elsewhere)]


def test_folder_jsonl_caption_and_captions(tmp_path):
    write_images(tmp_path, ["a.png", "b.png"])
    lines = [{"image": "a.png", "caption": "one"}, {"image": "b.png", "captions": ["two", "three"]},
             {"image": "a.png", "captions": ["four"]}]
    jsonl = tmp_path / "captions.jsonl"
    jsonl.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    data = folder(tmp_path, jsonl, on_bad_image="skip")
    assert data.image_ids == ["a.png", "b.png"] and data.captions == [["one", "four"], ["two", "three"]]
    assert data.on_bad_image == "skip"
    array = tmp_path / "captions.json"  # the same objects as one JSON array
    array.write_text(json.dumps(lines, indent=1))
    assert folder(tmp_path, array).captions == data.captions
    array.write_text(json.dumps([{"image": "a.png"}]))
    with pytest.raises(AnnotationError, match=r"captions\.json.*\[0\] has no key 'caption'"):
        folder(tmp_path, array)


def test_missing_images_are_an_error_or_left_out(tmp_path):
    path = coco_tree(tmp_path)
    for name in ("COCO_train2014_000000000011.jpg", "COCO_train2014_000000000013.jpg"):
        (tmp_path / "train2014" / name).unlink()
    absent = (r"2 of the 3 images listed in .*captions_train2014\.json.* are not on disk, e\.g\. "
              r".*000000000011\.jpg.*000000000013\.jpg.*on_bad_image='skip'")
    with pytest.raises(FileNotFoundError, match=absent):
        coco(path, tmp_path / "train2014")
    with pytest.warns(UserWarning, match=r"2 images left out: not on disk"):
        data = coco(path, tmp_path / "train2014", on_bad_image="skip")
    assert data.image_ids == [12]
    with pytest.raises(FileNotFoundError, match=r"No image folder at .*nowhere"):
        coco(path, tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"on_bad_image must be one of 'error', 'skip'; got 'ignore'"):
        coco(path, tmp_path / "train2014", on_bad_image="ignore")


COCO, KARPATHY = "captions_train2014.json", "dataset.json"


BAD = {  # name → (build(tmp_path) → call, file name, what the message must say)
    "json syntax": (in_text(COCO, '{"images": [\n {"id": 1,}\n]}', coco), COCO,
                    r"not valid JSON: .* at line 2, column 11"),
    "coco top level": (in_text(COCO, "[1, 2]", coco), COCO,
                       r"the top level should be an object with key 'images', got list"),
    "coco no file_name": (in_coco(drop("file_name", lambda d: d["images"][1])), COCO,
                          r"images\[1\] has no key 'file_name' \(it has: id, height, width\)"),
    "coco no caption": (in_coco(drop("caption", lambda d: d["annotations"][4])), COCO,
                        r"annotations\[4\] has no key 'caption'"),
    "coco caption not str": (in_coco(put(7, lambda d: d["annotations"][2], "caption")), COCO,
                             r"caption at annotations\[2\]\.caption should be a string, got int 7"),
    "coco blank caption": (in_coco(put("  ", lambda d: d["annotations"][0], "caption")), COCO,
                           r"caption at annotations\[0\]\.caption is blank"),
    "coco unknown image": (in_coco(put(99, lambda d: d["annotations"][3], "image_id")), COCO,
                           r"annotations\[3\] has image_id 99, which is not the id of any of the 3 "),
    "coco duplicate id": (in_coco(put(11, lambda d: d["images"][2], "id")), COCO,
                          r"images\[2\] repeats image id 11 of images\[0\]"),
    "coco id type": (in_coco(put(1.5, lambda d: d["images"][0], "id")), COCO,
                     r"images\[0\]\.id should be an integer or a string, got float 1\.5"),
    "coco images not list": (in_coco(put({}, lambda d: d, "images")), COCO,
                             r"the top level\.images should be a list, got dict"),
    "karpathy no split": (in_karpathy(drop("split", lambda d: d["images"][3])), KARPATHY,
                          r"images\[3\] has no key 'split'"),
    "karpathy no raw": (in_karpathy(put({"imgid": 0}, lambda d: d["images"][0]["sentences"], 0)), KARPATHY,
                        r"images\[0\]\.sentences\[0\] has no key 'raw' or 'tokens' \(it has: imgid\)"),
    "karpathy raw None": (in_karpathy(put(None, lambda d: d["images"][1]["sentences"][2], "raw")), KARPATHY,
                          r"images\[1\]\.sentences\[2\]\.raw should be a string, got NoneType"),
    "karpathy unknown split": (in_karpathy(lambda d: None, split="train+dev"), KARPATHY,
                               r"Unknown split 'dev' .* Available: train, val, test, restval, all"),
    "karpathy empty split": (in_karpathy(lambda d: d["images"].pop(4), split="restval"), KARPATHY,
                             r"no images with captions in split 'restval'; it has train \(2 images\), val \(1 "),
    "karpathy duplicate id": (in_karpathy(put(500, lambda d: d["images"][1], "cocoid")), KARPATHY,
                              r"dataset\.json' split 'train': 1 image id repeat: 500 \(2 times\)\. Each image id "
                              r"must appear once"),
    "flickr no tab": (in_text("tokens.txt", "a.jpg#0\tfine\na.jpg#1 no tab\n", flickr), "tokens.txt",
                      r"line 2 should be 'IMAGE\.jpg#N<TAB>caption', got 'a\.jpg#1 no tab'"),
    "flickr duplicate": (in_text("tokens.txt", "a.jpg#0\tone\nb.jpg#0\ttwo\na.jpg#0\tagain\n", flickr), "tokens.txt",
                         r"line 3 repeats 'a\.jpg#0' of line 1"),
    "flickr list mismatch": (in_text("tokens.txt", "a.jpg#0\tone\n", with_list), "list.txt",
                             r"None of the 2 images listed in .*list\.txt.* has a caption in .*tokens\.txt"),
    "csv header": (in_text("c.csv", "file,text\na.jpg,hi\n", as_folder), "c.csv",
                   r"the CSV header should name the columns 'image' and 'caption', got \['file', 'text'\]"),
    "csv short row": (in_text("c.csv", "image,caption\na.jpg,hi\nb.jpg\n", as_folder), "c.csv",
                      r"line 3 has 1 columns, fewer than the header's 2"),
    "jsonl syntax": (in_text("c.jsonl", '{"image": "a.jpg", "caption": "hi"}\n{"image": \n', as_folder), "c.jsonl",
                     r"line 2 is not valid JSON"),
    "jsonl no caption": (in_text("c.jsonl", '{"image": "a.jpg", "text": "hi"}\n', as_folder), "c.jsonl",
                         r"line 1 has no key 'caption' \(a string\) or 'captions' \(a list of strings\)"),
    "jsonl caption type": (in_text("c.jsonl", '{"image": "a.jpg", "captions": ["ok", 3]}\n', as_folder), "c.jsonl",
                           r"caption at line 1\.captions\[1\] should be a string, got int 3"),
    "not utf-8": (in_text("c.csv", "", not_utf8), "c.csv", r"is not UTF-8 text: .* at line 2"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_annotations_name_the_file_and_the_problem(tmp_path, case):
    build, file_name, message = BAD[case]
    call = build(tmp_path)
    with pytest.raises(ValueError, match=message) as info:  # AnnotationError, or a bad argument's ValueError
        call()
    assert type(info.value) is (ValueError if "unknown split" in case else AnnotationError)
    assert file_name in str(info.value), str(info.value)


def test_missing_annotation_files_are_file_not_found_naming_them(tmp_path):
    for read in (lambda p: coco(p, tmp_path), lambda p: karpathy(p, tmp_path), lambda p: flickr(p, tmp_path),
                 lambda p: folder(tmp_path, p)):
        with pytest.raises(FileNotFoundError, match=r"No .* at .*absent\.json"):
            read(tmp_path / "absent.json")


def _seeded_check(spec, images, count, **options):
    train, val, everything = (load(spec, split=s, images=images, **options) for s in ("train", "val", "all"))
    assert len(everything) == count and len(train) + len(val) == count
    assert not set(train.image_ids) & set(val.image_ids) and not set(train.images) & set(val.images)
    assert set(train.image_ids) | set(val.image_ids) == set(everything.image_ids)
    again = load(spec, split="val", images=images, **options)
    assert again.image_ids == val.image_ids
    return train, val


def test_load_every_spec(tmp_path, monkeypatch):
    karpathy_path = karpathy_tree(tmp_path / "k")
    assert load(f"karpathy:{karpathy_path}", split="train+restval", images=tmp_path / "k").image_ids == [500, 501,
                                                                                                         504]
    train, val = _seeded_check(f"coco:{coco_tree(tmp_path / 'c')}", tmp_path / "c" / "train2014", 3)
    assert (len(train), len(val)) == (2, 1)  # at least one image each side
    token, names = flickr_tree(tmp_path / "f")
    parts = {s: load(f"flickr:{token}", split=s, images=tmp_path / "f" / "Flicker8k_Dataset").image_ids
             for s in ("train", "val", "test", "train+val", "all")}
    assert parts == {"train": names[:3], "val": names[3:4], "test": names[4:], "train+val": names[:4], "all": names}
    with pytest.raises(ValueError, match=r"Unknown split 'dev' .*Available: train, val, test, all"):
        load(f"flickr:{token}", split="dev", images=tmp_path / "f" / "Flicker8k_Dataset")
    token, names = flickr_tree(tmp_path / "g", lists=False)
    _seeded_check(f"flickr:{token}", tmp_path / "g" / "Flicker8k_Dataset", 5)
    csv_file = tmp_path / "folder.csv"
    csv_file.write_text("image,caption\n" + "".join(f"{n},caption {n}\n" for n in names))
    _seeded_check(f"folder:{csv_file}", tmp_path / "g" / "Flicker8k_Dataset", 5, val_split=0.4, seed=3)
    shapes_val = load("shapes", split="val")
    assert shapes_val.name == "shapes-val" and len(shapes_val) == 500


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown dataset spec 'cocoa:x'\. Accepted: karpathy:PATH, coco:PATH, "
                                         r"flickr:PATH, folder:PATH, tfds:NAME, shapes"):
        load("cocoa:x", images=tmp_path)
    with pytest.raises(ValueError, match=r"'coco:x\.json' needs images=, the folder"):
        load("coco:x.json")
    with pytest.raises(ValueError, match=r"needs a path after the colon"):
        load("coco:", images=tmp_path)
    path = coco_tree(tmp_path)
    with pytest.raises(ValueError, match=r"Unknown split 'test' for .*no splits of its own\. Available: train, val, "
                                         r"all"):
        load(f"coco:{path}", split="test", images=tmp_path / "train2014")
    with pytest.raises(ValueError, match=r"val_split .* between 0 and 1"):
        load(f"coco:{path}", images=tmp_path / "train2014", val_split=1.0)


def test_seeded_split_is_a_deterministic_partition_of_about_val_split(tmp_path):
    data = shapes("test", num_images=60, image_size=24)
    splits = {seed: (seeded_split(data, "train", 0.1, seed), seeded_split(data, "val", 0.1, seed)) for seed in (0, 1)}
    for train, val in splits.values():
        assert (len(train), len(val)) == (54, 6)
        assert sorted(train.image_ids + val.image_ids) == list(range(60))
        assert train.image_ids == sorted(train.image_ids)  # the data's order is kept
        np.testing.assert_array_equal(val.images, data.images[val.image_ids])
        assert [train.captions[0], val.captions[0]] == [data.captions[train.image_ids[0]],
                                                        data.captions[val.image_ids[0]]]
    assert seeded_split(data, "val", 0.1, 0).image_ids == splits[0][1].image_ids
    assert splits[0][1].image_ids != splits[1][1].image_ids
    assert len(seeded_split(data, "val", 0.25, 0)) == 15
    assert len(seeded_split(data, "val", 0.001, 0)) == 1 and len(seeded_split(data, "train", 0.999, 0)) == 1
    with pytest.raises(ValueError, match=r"has 1 image; a train/val split needs at least 2"):
        seeded_split(shapes("test", num_images=1, image_size=24), "train")


def _tfds():
    return pytest.importorskip("tensorflow_datasets")


def test_tfds_mock_data_is_exported_once_to_readable_files(tmp_path):
    tfds_lib = _tfds()
    with tfds_lib.testing.mock_data(num_examples=4):
        data = tfds("coco_captions", split="train", data_dir=tmp_path)
        folder_ = tmp_path / "showattend_images" / "coco_captions" / "train"
        assert len(data) == 4 and data.name == "coco_captions-train"
        assert all(pathlib.Path(p).parent == folder_ for p in data.images)
        assert all(isinstance(c, str) and c for refs in data.captions for c in refs)
        assert all(isinstance(i, int) for i in data.image_ids)
        arrays = [load_image(p) for p in data.images]
        assert all(a.dtype == np.uint8 and a.ndim == 3 and min(a.shape[:2]) >= 5 for a in arrays)
        assert not list(folder_.glob("*partial*"))
        stamps = [os.stat(p).st_mtime_ns for p in data.images]
        os.utime(data.images[0], ns=(1, 1))  # a second call keeps the files there
        again = tfds("coco_captions", split="train", data_dir=tmp_path)
        assert again.images == data.images and again.captions == data.captions
        assert os.stat(data.images[0]).st_mtime_ns == 1 and [os.stat(p).st_mtime_ns for p in data.images[1:]] == \
            stamps[1:]
        via_load = load("tfds:coco_captions", split="train", images=tmp_path / "mine")
        assert via_load.image_ids == data.image_ids and all(p.startswith(str(tmp_path / "mine")) for p in
                                                             via_load.images)


def test_tfds_writes_the_stored_jpeg_bytes_untouched(tmp_path):
    tfds_lib = _tfds()
    import tensorflow as tf

    def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False):
        # what the builder serves for encoded images under SkipDecoding: the stored bytes
        return tf.data.Dataset.from_tensor_slices({
            "image": [JPEG, JPEG], "image/id": np.array([7, 9], np.int64),
            "captions": {"text": [["a cat", "the cat"], ["a dog", ""]]}})

    with tfds_lib.testing.mock_data(as_dataset_fn=as_dataset):
        data = tfds("coco_captions", split="val", images_dir=tmp_path)
    assert data.images == [str(tmp_path / "7.jpg"), str(tmp_path / "9.jpg")]
    assert (tmp_path / "7.jpg").read_bytes() == JPEG
    assert data.captions == [["a cat", "the cat"], ["a dog"]]


def test_tfds_union_merges_an_image_in_two_splits_and_a_split_repeat_is_an_error(tmp_path):
    tfds_lib = _tfds()
    import tensorflow as tf

    served = {  # split → (image ids, captions): restval and test share image 2, as in tfds' own test data
        "train": ([1, 3], [["caption 1", "caption 2"], ["caption 3", "caption 4"]]),
        "restval": ([2], [["caption 13", "caption 14"]]),
        "test": ([2], [["caption 15", "caption 13"]]),
        "val": ([7, 7], [["a", "b"], ["c", "d"]]),  # a broken split
    }

    def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False):
        ids, texts = served[split]
        return tf.data.Dataset.from_tensor_slices({"image": [JPEG] * len(ids), "image/id": np.array(ids, np.int64),
                                                   "captions": {"text": texts}})

    with tfds_lib.testing.mock_data(as_dataset_fn=as_dataset):
        with pytest.warns(UserWarning, match=r"tfds:coco_captions split 'restval\+test': 1 image listed in more "
                                             r"than one of the splits restval\+test; kept once with its captions"):
            union = tfds("coco_captions", split="restval+test", images_dir=tmp_path / "u")
        assert union.image_ids == [2] and union.captions == [["caption 13", "caption 14", "caption 15"]]
        assert union.images == [str(tmp_path / "u" / "2.jpg")] and len(list((tmp_path / "u").iterdir())) == 1
        train = _quietly(lambda: tfds("coco_captions", split="train+restval", images_dir=tmp_path / "t"))
        assert train.image_ids == [1, 3, 2] and train.num_captions == 6
        with pytest.raises(AnnotationError, match=r"tfds:coco_captions split 'val': 1 image id repeat: 7 \(2 times\)"):
            tfds("coco_captions", split="train+val", images_dir=tmp_path / "v")

    def without_ids(self, split, decoders=None, read_config=None, shuffle_files=False):
        count = {"train": 2, "test": 1}[split]
        return tf.data.Dataset.from_tensor_slices({"image": [JPEG] * count,
                                                   "captions": {"text": [["x", "y"]] * count}})

    with tfds_lib.testing.mock_data(as_dataset_fn=without_ids):  # the index counts across the union
        indexed = _quietly(lambda: tfds("coco_captions", split="train+test", images_dir=tmp_path / "i"))
    assert indexed.image_ids == [0, 1, 2] and len(set(indexed.images)) == 3


def test_tfds_errors_and_lazy_import(tmp_path):
    _tfds()
    with pytest.raises(ValueError, match=r"no_such_set.*for captions use e\.g\. 'coco_captions'"):
        tfds("no_such_set", images_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"tfds:coco_captions split 'train': the data is not prepared in"):
        tfds("coco_captions", data_dir=tmp_path / "empty", images_dir=tmp_path / "out")
    # `import showattend` must not import tensorflow_datasets: no module imports it at its top level
    package = pathlib.Path(showattend.__file__).parent
    for source in package.rglob("*.py"):
        tree = ast.parse(source.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top for a in n.names] + [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert not any(name.startswith("tensorflow_datasets") for name in names), source
