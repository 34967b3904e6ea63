"""keras.applications parity: the same weights give the same feature grid (random weights, local files)."""
import h5py
import keras
import numpy as np
import pytest

from cnn_backbones import create_backbone, create_classifier

APPLICATIONS = {
    "vgg16": (keras.applications.VGG16, keras.applications.vgg16.preprocess_input, "block5_conv3"),
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet.preprocess_input, "conv5_block3_out"),
    "densenet121": (keras.applications.DenseNet121, keras.applications.densenet.preprocess_input, "relu"),
}
SHAPE = (64, 64, 3)


def _randomised_application(application, seed=0):
    """The application with random conv biases and batch-norm statistics, so that nothing cancels."""
    rng = np.random.default_rng(seed)
    model = application(include_top=False, weights=None, input_shape=SHAPE)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
        elif isinstance(layer, keras.layers.Conv2D) and layer.use_bias:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.normal(0, 0.1, bias.shape)])
    return model


def _reference(application, preprocess, layer, images, model):
    grid = keras.Model(model.input, model.get_layer(layer).output)
    return np.asarray(grid(preprocess(images.copy())))


def _assert_parity(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


IMAGES = np.random.default_rng(1).integers(0, 256, size=(2, *SHAPE)).astype("float32")


@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_same_weights_file_gives_keras_applications_grid(name, tmp_path):
    application, preprocess, layer = APPLICATIONS[name]
    reference = _randomised_application(application)
    reference.save_weights(tmp_path / f"{name}.weights.h5")
    ours = create_backbone(name, input_shape=SHAPE, weights=tmp_path / f"{name}.weights.h5")
    want = _reference(application, preprocess, layer, IMAGES, reference)
    _assert_parity(np.asarray(ours(IMAGES)), want)
    if name == "resnet50":  # a stage-4 grid takes the weights it has
        stage4 = create_backbone(name, input_shape=SHAPE, weights=tmp_path / f"{name}.weights.h5", feature_stage=4)
        _assert_parity(np.asarray(stage4(IMAGES)),
                       _reference(application, preprocess, "conv4_block6_out", IMAGES, reference))


def test_imagenet_goes_through_keras_download_cache(tmp_path, monkeypatch):
    """weights="imagenet" asks keras' get_file for the published file; here it hands over a local one
    written in the same (legacy HDF5) format."""
    from keras.src.applications import resnet
    from keras.src.legacy.saving import legacy_h5_format

    reference = _randomised_application(keras.applications.ResNet50, seed=2)
    path = tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    requested = []

    def get_file(fname, origin=None, **kwargs):
        requested.append(fname)
        return str(path)

    monkeypatch.setattr(resnet.file_utils, "get_file", get_file)
    ours = create_backbone("resnet50", input_shape=SHAPE, weights="imagenet")
    assert requested == [path.name]
    _assert_parity(np.asarray(ours(IMAGES)), _reference(
        keras.applications.ResNet50, keras.applications.resnet.preprocess_input, "conv5_block3_out", IMAGES, reference))


def test_offline_download_and_wrong_files_give_clear_errors(tmp_path, monkeypatch):
    from keras.src.applications import vgg16

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(vgg16.file_utils, "get_file", offline)
    with pytest.raises(ValueError, match="Could not download the ImageNet weights of VGG16 .*no network.*weights="):
        create_backbone("vgg16", weights="imagenet")
    keras.applications.DenseNet121(include_top=False, weights=None, input_shape=SHAPE).save_weights(
        tmp_path / "densenet.weights.h5")
    with pytest.raises(ValueError, match="Could not load weights file '.*densenet.weights.h5' into ResNet50"):
        create_backbone("resnet50", input_shape=SHAPE, weights=tmp_path / "densenet.weights.h5")
    with pytest.raises(ValueError, match="published weights are for growth_rate=32"):
        create_backbone("densenet121", weights=tmp_path / "densenet.weights.h5", growth_rate=12)


def test_classifier_takes_pretrained_backbone_weights(tmp_path):
    reference = _randomised_application(keras.applications.VGG16)
    reference.save_weights(tmp_path / "vgg16.weights.h5")
    model = create_classifier("vgg16", 5, input_shape=SHAPE, weights=tmp_path / "vgg16.weights.h5")
    np.testing.assert_array_equal(model.get_layer("block1_conv1").get_weights()[0],
                                  reference.get_layer("block1_conv1").get_weights()[0])
