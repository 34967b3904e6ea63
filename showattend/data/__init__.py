"""Data: CaptionDataset, image loading and the tf.data pipeline."""
from showattend.data.dataset import CaptionDataset, GroundedObject
from showattend.data.images import BadImageError, as_image_list, check_image_file, decode_image, load_image
from showattend.data.resize import resize_images
from showattend.data.pipeline import caption_dataset_to_tf, encode_captions

__all__ = ["BadImageError", "CaptionDataset", "GroundedObject", "as_image_list", "check_image_file", "decode_image",
           "load_image", "resize_images", "caption_dataset_to_tf", "encode_captions"]
