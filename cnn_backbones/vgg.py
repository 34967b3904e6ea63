"""VGG-16 / VGG-19 (Simonyan & Zisserman, 2015), built by keras.applications (its architecture is ours).

The grid is conv5_3 / conv5_4 before the last pooling (14×14×512 at 224), as in Show, Attend and
Tell. The model takes images in 0..255 and applies keras.applications' "caffe" preprocessing itself.
"""
import keras

from cnn_backbones.blocks import image_input, preprocessing
from cnn_backbones.pretrained import build_application
from cnn_backbones.registry import register_backbone

_VARIANTS = {"vgg16": (keras.applications.VGG16, "block5_conv3"), "vgg19": (keras.applications.VGG19, "block5_conv4")}


def _variant(name, application, feature_layer):
    def build(input_shape=(224, 224, 3), weights=None):
        inputs = image_input(input_shape)
        x = preprocessing(inputs, "caffe")
        app = build_application(application, weights, input_shape, input_tensor=x)
        return keras.Model(inputs, app.get_layer(feature_layer).output, name=name)

    build.__doc__ = f"{name}: keras.applications.{application.__name__} up to {feature_layer} (before the last pool)."
    return build


for _name, (_application, _layer) in _VARIANTS.items():
    register_backbone(_name, _variant(_name, _application, _layer), family="vgg", default_input_shape=(224, 224, 3),
                      feature_stride=16, grid_channels=512, feature_layer=_layer, imagenet_weights=True,
                      preprocessing="caffe", description=f"{_name.upper()} ({_layer}, before the last pool)")
